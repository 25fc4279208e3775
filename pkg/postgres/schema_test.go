package postgres_test

import (
	"flag"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

var update = flag.Bool("update", false, "rewrite schema.sql from its parts")

// TestSchemaFileIsItsParts keeps the schema.sql an operator applies equal
// to the parts the code is read beside.
func TestSchemaFileIsItsParts(t *testing.T) {
	path, err := postgres.FindSchema()
	if err != nil {
		t.Fatal(err)
	}
	want := postgres.Schema()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s differs from pkg/postgres/*.sql; run: go test ./pkg/postgres -run TestSchemaFileIsItsParts -update", path)
	}
}

// TestAdmissionOutcomesAreTheDomains checks that tryon_admit answers only
// with the outcomes pkg/tryon defines, and can give each of them.
func TestAdmissionOutcomesAreTheDomains(t *testing.T) {
	sql, err := os.ReadFile("admission.sql")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range regexp.MustCompile(`'([a-z_]+)'`).FindAllStringSubmatch(string(sql), -1) {
		if o := m[1]; !slices.Contains(got, o) && !slices.Contains([]string{"live", "test", "processing", "active"}, o) {
			got = append(got, o)
		}
	}
	want := []string{string(tryon.Suspended), string(tryon.RateLimited), string(tryon.Replay), string(tryon.IdempotencyMismatch),
		string(tryon.ConcurrencyLimited), string(tryon.InsufficientCredits), string(tryon.Admitted)}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("admission.sql's outcomes %v, pkg/tryon's %v", got, want)
	}
}
