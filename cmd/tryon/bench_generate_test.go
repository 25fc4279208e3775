package main

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/pgtest"
)

// TestBenchGenerate runs the benchmark in-process on a small scale and
// checks the report, not its timings: every row is there, measured over the
// requests asked for, with no failures and a round-trip count read from
// Server-Timing.
func TestBenchGenerate(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": pgtest.URL(t)}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"bench", "generate", "-clients", "2", "-requests", "40"}, lookup, &out, &errOut)
	if err != nil {
		t.Fatalf("bench generate: %v\nstdout:\n%s\nstderr:\n%s", err, &out, &errOut)
	}
	report := out.String()
	if !strings.Contains(report, "$ tryon bench generate -clients 2 -requests 40\n") {
		t.Errorf("the report does not show the command line:\n%s", report)
	}
	rows := tableRows(report)
	for _, name := range []string{
		"POST /generate (live, postpaid)",
		"POST /generate (live, prepaid)",
		"POST /generate (test key)",
		"POST /generate (live, prepaid, 8 tenants)",
		"POST /generate with Idempotency-Key",
		"GET /generate/:id",
	} {
		t.Run(name, func(t *testing.T) {
			cells, ok := rows[name]
			if !ok {
				t.Fatalf("no row %q in\n%s", name, report)
			}
			// Request, Requests, Requests/s, p50, p99, mean, max, Target, Non-2xx, Other errors,
			// then PostgreSQL's costs: CPU, WAL bytes, records, full pages, flushes, commits.
			if len(cells) != 16 {
				t.Fatalf("got %d cells, want 16: %q", len(cells), cells)
			}
			if got, want := cells[1], "40"; got != want {
				t.Errorf("requests: got %s, want %s", got, want)
			}
			if cells[6] == "0" {
				t.Errorf("max round trips: got 0, want the count from Server-Timing")
			}
			if got, want := cells[8], "0"; got != want {
				t.Errorf("non-2xx: got %s, want %s", got, want)
			}
			if got, want := cells[9], "0"; got != want {
				t.Errorf("other errors: got %s, want %s", got, want)
			}
			// Every POST writes a generation: its WAL cannot be zero.
			if wal, err := strconv.ParseFloat(cells[11], 64); err != nil || strings.HasPrefix(name, "POST") && wal <= 0 {
				t.Errorf("WAL bytes per request: got %q, want a number, above 0 for a POST", cells[11])
			}
			for i, what := range map[int]string{12: "WAL records", 13: "WAL full pages", 14: "WAL flushes", 15: "commits"} {
				if _, err := strconv.ParseFloat(cells[i], 64); err != nil {
					t.Errorf("%s per request: got %q, want a number", what, cells[i])
				}
			}
		})
	}
}

// TestBenchGenerateUsage checks that bad flags are usage errors, refused
// before any database is touched.
func TestBenchGenerateUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-clients", "0"},
		{"-clients", "101"},
		{"-requests", "0"},
		{"-get-ratio", "0"},
		{"-get-ratio", "NaN"},
		{"extra"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			lookup := func(string) (string, bool) { return "", false }
			err := run(context.Background(), append([]string{"bench", "generate"}, args...), lookup, &out, &errOut)
			var u usageError
			if !errors.As(err, &u) {
				t.Errorf("got %v, want a usage error", err)
			}
		})
	}
}

// TestBenchReportFailed checks that a run with a failed request is an error
// and that failures are counted in their own columns, not in the numbers.
func TestBenchReportFailed(t *testing.T) {
	t.Parallel()
	row := benchRow{name: "POST /generate (live, postpaid)", target: postRoundTripTarget}
	res := summarize(row, []sample{
		{latency: time.Millisecond, roundTrips: 3, status: 200},
		{latency: time.Millisecond, roundTrips: 5, status: 200},
		{latency: time.Second, status: 500, failure: "500 internal"},
		{failure: "connection refused"},
	}, time.Second)
	if res.non2xx != 1 || res.noAnswer != 1 {
		t.Errorf("non-2xx, other errors: got %d, %d; want 1, 1", res.non2xx, res.noAnswer)
	}
	if res.meanTrips != 4 || res.maxTrips != 5 || !res.overTarget() {
		t.Errorf("round trips: got mean %.2f, max %d, over target %v; want 4, 5, true", res.meanTrips, res.maxTrips, res.overTarget())
	}
	if res.p99 != time.Millisecond {
		t.Errorf("p99: got %s, want 1ms (failed requests are not timed)", res.p99)
	}
	err := benchReport{rows: []rowResult{res}}.failed()
	if err == nil || !strings.Contains(err.Error(), "2 of 4 requests (warm-up included) failed") || !strings.Contains(err.Error(), "500 internal") {
		t.Errorf("got %v, want 2 of 4 requests failed, first 500 internal", err)
	}
	var out bytes.Buffer
	benchReport{rows: []rowResult{res}}.write(&out)
	if !strings.Contains(out.String(), "Round-trip targets missed: POST /generate (live, postpaid) takes 4.00 round trips on average and up to 5, 3 over its target of 2") {
		t.Errorf("the report does not name the row over its target:\n%s", &out)
	}
}

// TestRoundTrips checks the reading of Server-Timing's round-trip count.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header  string
		want    int
		wantErr bool
	}{
		{`total;dur=4.1, db;dur=2.0;desc="3 round trips", upstream;dur=0.3`, 3, false},
		{`total;dur=1.2, db;dur=0.4;desc="1 round trips"`, 1, false},
		{`total;dur=0.1`, 0, false},
		{``, 0, true},
		{`total;dur=1.0, db;dur=0.4`, 0, true},
	} {
		got, err := roundTrips(tc.header)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("roundTrips(%q): got %d, %v; want %d, error %v", tc.header, got, err, tc.want, tc.wantErr)
		}
	}
}

// tableRows returns the cells of the report's markdown table rows, keyed by
// their first cell.
func tableRows(report string) map[string][]string {
	rows := map[string][]string{}
	for _, line := range strings.Split(report, "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows[cells[0]] = cells
	}
	return rows
}
