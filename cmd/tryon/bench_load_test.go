package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestBenchLoad runs the load benchmark on a small scale, on its own
// durable cluster: every request answered, connections within the pool,
// the books reconciled (the command fails otherwise), and the report says so.
func TestBenchLoad(t *testing.T) {
	t.Parallel()
	lookup := func(string) (string, bool) { return "", false }
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"bench", "load", "-requests", "100", "-latency", "200ms", "-pool", "2"}, lookup, &out, &errOut)
	if err != nil {
		t.Fatalf("bench load: %v\nstdout:\n%s\nstderr:\n%s", err, &out, &errOut)
	}
	for _, want := range []string{"$ tryon bench load -requests 100 -latency 200ms -pool 2\n", "| 100 | 100 | 0 | none |",
		"100 generations recorded (100 succeeded, 0 processing)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, &out)
		}
	}
}
