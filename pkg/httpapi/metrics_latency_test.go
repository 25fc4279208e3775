package httpapi_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/metrics"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// finished is a generation written straight into the database with a
// chosen latency, then added to the rollups by the schema's own
// tryon_record_rollups, as tryon_finish does.
type finished struct {
	createdAt time.Time
	mode      string
	succeeded bool
	latencyMS int64
}

func insertFinished(t *testing.T, env *apptest.Env, clientID uuid.UUID, gens []finished) {
	t.Helper()
	ctx := context.Background()
	var keyID uuid.UUID
	if err := env.Store.Pool().QueryRow(ctx, `SELECT id FROM api_keys WHERE client_id = $1 LIMIT 1`, clientID).Scan(&keyID); err != nil {
		t.Fatal(err)
	}
	ids := make([]uuid.UUID, len(gens))
	created := make([]time.Time, len(gens))
	modes := make([]string, len(gens))
	statuses := make([]string, len(gens))
	latencies := make([]int64, len(gens))
	for i, g := range gens {
		ids[i] = uuid.Must(uuid.NewV7())
		created[i], modes[i], latencies[i] = g.createdAt, g.mode, g.latencyMS
		statuses[i] = "failed"
		if g.succeeded {
			statuses[i] = "succeeded"
		}
	}
	_, err := env.Store.Pool().Exec(ctx, `
		WITH ins AS (
			INSERT INTO generations (id, client_id, key_id, status, mode, service, provider, model, prompt, width, height,
			                         error_code, latency_ms, created_at, deadline, completed_at)
			SELECT id, $1, $2, status, mode, 'banana', 'fake', 'fake-banana', 'latency test', 1024, 1024,
			       CASE WHEN status = 'failed' THEN 'upstream_error' END, latency, created,
			       created + interval '5 minutes', created + latency * interval '1 millisecond'
			FROM unnest($3::uuid[], $4::timestamptz[], $5::text[], $6::text[], $7::bigint[]) AS u(id, created, mode, status, latency)
			RETURNING *
		)
		SELECT count(*) FROM ins, tryon_record_rollups(ins::generations)`,
		clientID, keyID, ids, created, modes, statuses, latencies)
	if err != nil {
		t.Fatal(err)
	}
}

// exactPercentile is the nearest-rank percentile of the successes of mode
// created in [from, to).
func exactPercentile(gens []finished, mode string, from, to time.Time, p int) (int64, bool) {
	var xs []int64
	for _, g := range gens {
		if g.succeeded && g.mode == mode && !g.createdAt.Before(from) && g.createdAt.Before(to) {
			xs = append(xs, g.latencyMS)
		}
	}
	if len(xs) == 0 {
		return 0, false
	}
	slices.Sort(xs)
	return xs[(p*len(xs)+99)/100-1], true
}

func exactAverage(gens []finished, mode string, from, to time.Time) int64 {
	var sum, n int64
	for _, g := range gens {
		if g.succeeded && g.mode == mode && !g.createdAt.Before(from) && g.createdAt.Before(to) {
			sum += g.latencyMS
			n++
		}
	}
	return (sum + n/2) / n
}

// The reported percentiles are within metrics.Precision of the exact ones,
// from the daily histogram (a day-aligned window) and the hourly one (a
// window that starts within a day), for each mode apart, in the tenant's
// histograms and in the platform's.
func TestMetricsLatencyPercentiles(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1000})
	r := rand.New(rand.NewPCG(5, 6))
	now := time.Now().UTC()
	var gens []finished
	for i := range 4000 {
		g := finished{createdAt: now.Add(-time.Duration(i) * 5 * time.Minute), mode: "live", succeeded: r.IntN(20) != 0}
		switch {
		case i%5 == 0:
			// Test mode is fast and separate, so mixing them up shows.
			g.mode, g.latencyMS = "test", 200+r.Int64N(400)
		case r.IntN(50) == 0:
			g.latencyMS = 60_000 + r.Int64N(120_000) // slow outliers
		default:
			g.latencyMS = int64(math.Round(math.Exp(math.Log(8000) + 0.6*r.NormFloat64())))
		}
		gens = append(gens, g)
	}
	insertFinished(t, env, shop.Client.ID, gens)

	hourFrom := now.Truncate(time.Hour).Add(-30 * time.Hour)
	if hourFrom.Hour() == 0 {
		hourFrom = hourFrom.Add(time.Hour) // keep it off a midnight, so the hourly tables answer
	}
	hourTo := now.Truncate(time.Hour).Add(time.Hour)
	today := now.Truncate(24 * time.Hour)
	cases := []struct {
		name     string
		query    string
		from, to time.Time
	}{
		{"DailyTables", "", today.AddDate(0, 0, -29), today.AddDate(0, 0, 1)},
		{"DailyTablesByHour", fmt.Sprintf("?bucket=hour&from=%s&to=%s", today.AddDate(0, 0, -3).Format(time.DateOnly),
			today.Format(time.DateOnly)), today.AddDate(0, 0, -3), today.AddDate(0, 0, 1)},
		{"HourlyTables", "?bucket=hour&from=" + hourFrom.Format(time.RFC3339), hourFrom, today.AddDate(0, 0, 1)},
		{"HourlyTablesBounded", fmt.Sprintf("?bucket=hour&from=%s&to=%s", hourFrom.Format(time.RFC3339), hourTo.Format(time.RFC3339)), hourFrom, hourTo},
	}
	admin := env.Key(nil, tryon.KeyAdmin, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := getMetrics(t, env, "/metrics"+tc.query, shop.LiveKey)
			// The only tenant with generations: the platform's histogram
			// holds the same latencies.
			p := getMetrics(t, env, "/metrics"+tc.query, admin)
			for _, mode := range []struct {
				name   string
				totals totalsBody
			}{{"live", m.Totals}, {"test", m.Test}, {"live", p.Totals}, {"test", p.Test}} {
				got := mode.totals.LatencyMS
				if got.Avg == nil || *got.Avg != exactAverage(gens, mode.name, tc.from, tc.to) {
					t.Errorf("%s avg = %v, want exactly %d", mode.name, got.Avg, exactAverage(gens, mode.name, tc.from, tc.to))
				}
				for _, p := range []struct {
					p   int
					got *int64
				}{{50, got.P50}, {95, got.P95}} {
					exact, ok := exactPercentile(gens, mode.name, tc.from, tc.to, p.p)
					if !ok || p.got == nil {
						t.Fatalf("%s p%d = %v, exact %d", mode.name, p.p, p.got, exact)
					}
					if diff := math.Abs(float64(*p.got - exact)); diff > metrics.Precision*float64(exact)+0.5 {
						t.Errorf("%s p%d = %d, exact %d: off by %.2f%%, more than the stated %.2f%%",
							mode.name, p.p, *p.got, exact, 100*diff/float64(exact), 100*metrics.Precision)
					}
				}
			}
		})
	}
}
