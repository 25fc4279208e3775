package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/pgtest"
)

// TestBenchMetrics runs the benchmark in-process on a small scale and
// checks the report, not its timings: a row per size, with the command
// line, and the refusal of a database that already holds generations.
func TestBenchMetrics(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": pgtest.URL(t)}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	args := []string{"bench", "metrics", "-sizes", "1000,3000", "-n", "3", "-tenants", "5"}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, lookup, &out, &errOut); err != nil {
		t.Fatalf("bench metrics: %v\nstdout:\n%s\nstderr:\n%s", err, &out, &errOut)
	}
	report := out.String()
	if !strings.Contains(report, "$ tryon bench metrics -sizes 1000,3000 -n 3 -tenants 5\n") {
		t.Errorf("the report does not show the command line:\n%s", report)
	}
	for _, row := range []string{"| 1,000 | 100 | ", "| 3,000 | 300 | "} {
		if !strings.Contains(report, row) {
			t.Errorf("no row starting %q in\n%s", row, report)
		}
	}
	if !strings.Contains(report, "Targets at 3,000 generations") {
		t.Errorf("no verdict on the targets in\n%s", report)
	}

	out.Reset()
	err := run(context.Background(), args, lookup, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "without generations") {
		t.Fatalf("a second run on the same database: %v, want a refusal", err)
	}
}

func TestParseSizes(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{{"10", true}, {"10,100, 1000", true}, {"", false}, {"100,10", false}, {"10,10", false}, {"0", false}, {"1e6", false}} {
		if _, err := parseSizes(tc.in); (err == nil) != tc.ok {
			t.Errorf("parseSizes(%q): %v", tc.in, err)
		}
	}
	if got := thousands(10_000_000); got != "10,000,000" {
		t.Errorf("thousands(10000000) = %s", got)
	}
	if got := thousands(999); got != "999" {
		t.Errorf("thousands(999) = %s", got)
	}
}
