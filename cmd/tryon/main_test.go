package main

import (
	"testing"

	"github.com/tryonhq/tryon/pkg/pgtest"
)

// TestMain stops the throwaway PostgreSQL that pgtest starts for the
// package's end-to-end tests.
func TestMain(m *testing.M) { pgtest.Main(m) }
