package billing_test

import (
	"testing"

	"github.com/tryonhq/tryon/pkg/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
