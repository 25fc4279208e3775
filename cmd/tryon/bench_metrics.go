package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apikey"
	"github.com/tryonhq/tryon/pkg/app"
	"github.com/tryonhq/tryon/pkg/config"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// The metrics targets (issue 5), on a 2-core machine with a million
// generations for one tenant and ten million in all.
const (
	tenantMetricsTarget   = 25 * time.Millisecond
	platformMetricsTarget = 100 * time.Millisecond
)

// benchMetrics runs `tryon bench metrics`: it seeds generations and their
// rollups straight into Postgres, in cumulative steps (-sizes), and at each
// step measures GET /metrics through the real HTTP handler on a warm
// instance: the big tenant's 30 days by day, the admin's platform view of
// 30 days by day, and the big tenant's 7 days by hour. It prints a
// markdown table. One tenant holds a tenth of the generations; the others
// share the rest; all are spread over the last year.
func benchMetrics(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("bench metrics", flag.ContinueOnError)
	sizesFlag := fs.String("sizes", "10000,100000,1000000,10000000", "cumulative numbers of generations to measure at")
	iterations := fs.Int("n", 200, "requests measured per row and size, after 20 warm-up requests")
	tenantCount := fs.Int("tenants", 100, "tenants; the first holds a tenth of the generations")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	sizes, err := parseSizes(*sizesFlag)
	switch {
	case len(pos) > 0:
		return usageError{"bench metrics takes no positional arguments"}
	case err != nil:
		return usageError{err.Error()}
	case *iterations < 1:
		return usageError{"-n must be at least 1"}
	case *tenantCount < 2:
		return usageError{"-tenants must be at least 2"}
	}

	// Room for ten million rows: a bigger cache than the default 128 MB,
	// and checkpoints spaced out while seeding; production durability, as
	// for every figure the README quotes.
	dbURL, where, stop, err := benchDatabase(ctx, e, append(slices.Clone(productionDurability),
		"shared_buffers=1GB", "max_wal_size=16GB", "checkpoint_timeout=30min", "maintenance_work_mem=512MB")...)
	if err != nil {
		return err
	}
	defer stop()
	if where != "DATABASE_URL" {
		where += " (shared_buffers=1GB)"
	}

	// A fixed configuration, as for bench generate: nothing in the shell
	// can change what is measured.
	cfg, err := config.Load(config.Map(map[string]string{
		"DATABASE_URL": dbURL, "DB_MAX_CONNS": "2", "PUBLIC_BASE_URL": "http://bench.invalid",
		"PROVIDER_BANANA": "fake", "PROVIDER_BANANA_PRO": "fake", "PROVIDER_VEO3": "fake",
		"STORAGE": "postgres", "KEY_CACHE_TTL": "60s",
	}))
	if err != nil {
		return err
	}
	a, err := app.New(cfg, app.Options{Log: slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	defer a.Close()
	var seededBefore bool
	if err := a.Store.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM generations)`).Scan(&seededBefore); err != nil {
		return fmt.Errorf("look at the database: %w", err)
	}
	if seededBefore {
		return errors.New("bench metrics needs a database without generations, or its sizes would be wrong: " +
			"point DATABASE_URL at an empty one, or unset it to use a throwaway PostgreSQL")
	}

	tenants, bigKey, err := metricsBenchTenants(ctx, a.Store, *tenantCount)
	if err != nil {
		return err
	}
	srv := httptest.NewServer(a.Server.Handler())
	defer srv.Close()
	client := srv.Client()

	now := time.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	var rows []metricsBenchRow
	var seeded int64
	for _, size := range sizes {
		start := time.Now()
		err := a.Store.SeedGenerations(ctx, postgres.Seed{Tenants: tenants, BigEvery: 10, First: seeded,
			Count: size - seeded, Days: 365, Now: now, Processing: 5}, func(done int64) {
			fmt.Fprintf(e.stderr, "\rseeding %d of %d generations…", seeded+done, size)
		})
		if err != nil {
			return err
		}
		seeded = size
		// What autovacuum does in the background: statistics for the
		// planner, and the visibility map for index-only scans.
		for _, table := range []string{"usage_hourly", "usage_daily", "latency_hourly", "latency_daily",
			"platform_latency_hourly", "platform_latency_daily", "generations"} {
			if _, err := a.Store.Pool().Exec(ctx, "VACUUM ANALYZE "+table); err != nil {
				return fmt.Errorf("vacuum %s: %w", table, err)
			}
		}
		seedTime := time.Since(start)
		fmt.Fprintf(e.stderr, "\rseeded %d generations in %s; measuring…\n", size, seedTime.Round(100*time.Millisecond))

		// A new admin key per size: admin keys have a rate limit of their
		// own (tryon.AdminRequestsPerMinute) that a run must stay under.
		admin, err := createKey(ctx, a.Store, (*uuid.UUID)(nil), tryon.KeyAdmin, "bench metrics", nil)
		if err != nil {
			return err
		}
		row := metricsBenchRow{total: size, big: (size + 9) / 10, seed: seedTime}
		for i, q := range []struct{ key, path string }{
			{bigKey, "/metrics"},
			{admin, "/metrics"},
			{bigKey, "/metrics?bucket=hour&from=" + today.AddDate(0, 0, -6).Format(time.DateOnly)},
		} {
			row.p50[i], row.p99[i], err = measureMetrics(ctx, client, srv.URL+q.path, q.key, *iterations)
			if err != nil {
				return fmt.Errorf("%d generations, GET %s: %w", size, q.path, err)
			}
		}
		rows = append(rows, row)
	}

	var version string
	if err := a.Store.Pool().QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		return fmt.Errorf("read the server version: %w", err)
	}
	fmt.Fprintf(e.stdout, "```\n$ %s\n```\n\n", commandLine(append([]string{"tryon", "bench", "metrics"}, args...)))
	fmt.Fprintf(e.stdout, "%s %s/%s, %d CPUs; PostgreSQL %s on %s. %d tenants, the first with a tenth of the "+
		"generations, spread over the last 365 days; %d requests per cell after 20 warm-up ones, one at a time "+
		"through the real HTTP handler on loopback; latency as the client sees it.\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), version, where, *tenantCount, *iterations)
	fmt.Fprintln(e.stdout, "| Generations (all tenants) | Big tenant's | Seeded in | Tenant, 30 days by day: p50 | p99 | Admin platform view, 30 days by day: p50 | p99 | Tenant, 7 days by hour: p50 | p99 |")
	fmt.Fprintln(e.stdout, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		fmt.Fprintf(e.stdout, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", thousands(r.total), thousands(r.big),
			r.seed.Round(100*time.Millisecond), millis(r.p50[0]), millis(r.p99[0]), millis(r.p50[1]), millis(r.p99[1]),
			millis(r.p50[2]), millis(r.p99[2]))
	}
	last := rows[len(rows)-1]
	fmt.Fprintf(e.stdout, "\nTargets at %s generations: tenant 30 days by day under %s at p50 (%s: %s), admin view under %s (%s: %s).\n",
		thousands(last.total), millis(tenantMetricsTarget), millis(last.p50[0]), verdict(last.p50[0] < tenantMetricsTarget),
		millis(platformMetricsTarget), millis(last.p50[1]), verdict(last.p50[1] < platformMetricsTarget))
	return nil
}

// metricsBenchRow is one size's measurements: tenant by day, platform,
// tenant by hour.
type metricsBenchRow struct {
	total, big int64
	seed       time.Duration
	p50, p99   [3]time.Duration
}

func parseSizes(s string) ([]int64, error) {
	var sizes []int64
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || n < 1 || (len(sizes) > 0 && n <= sizes[len(sizes)-1]) {
			return nil, fmt.Errorf("-sizes must be increasing positive numbers, such as 10000,100000")
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// metricsBenchTenants creates the tenants and a live key for each; the
// first, the big one, gets a rate limit the benchmark never reaches, and
// its key is returned.
func metricsBenchTenants(ctx context.Context, s *postgres.Store, n int) ([]postgres.SeedTenant, string, error) {
	suffix := uuid.NewString()[:8]
	tenants := make([]postgres.SeedTenant, n)
	var bigKey string
	for i := range tenants {
		nc := postgres.NewClient{Name: fmt.Sprintf("bench-metrics-%s-%03d", suffix, i)}
		if i == 0 {
			nc.RequestsPerMinute = 1_000_000
		}
		c, err := s.CreateClient(ctx, nc)
		if err != nil {
			return nil, "", err
		}
		k, err := apikey.New(tryon.KeyLive)
		if err != nil {
			return nil, "", err
		}
		key, err := s.CreateKey(ctx, &c.ID, k, "bench metrics", nil)
		if err != nil {
			return nil, "", err
		}
		tenants[i] = postgres.SeedTenant{ClientID: c.ID, KeyID: key.ID}
		if i == 0 {
			bigKey = k.Secret
		}
	}
	return tenants, bigKey, nil
}

// measureMetrics sends 20 warm-up requests and then n measured ones, one
// at a time, and returns the p50 and p99 of the measured. Every answer must
// be a 200 with metrics in it.
func measureMetrics(ctx context.Context, client *http.Client, url, key string, n int) (p50, p99 time.Duration, err error) {
	took := make([]time.Duration, 0, n)
	for i := range 20 + n {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, 0, err
		}
		req.Header.Set("X-Client-Key", key)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		elapsed := time.Since(start)
		if err != nil {
			return 0, 0, err
		}
		var env struct {
			Data struct {
				Series []json.RawMessage `json:"series"`
			} `json:"data"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &env) != nil || len(env.Data.Series) == 0 {
			return 0, 0, fmt.Errorf("status %d: %.300s", resp.StatusCode, body)
		}
		if i >= 20 {
			took = append(took, elapsed)
		}
	}
	slices.Sort(took)
	at := func(p int) time.Duration { return took[max((p*len(took)+99)/100, 1)-1] }
	return at(50), at(99), nil
}

func millis(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "missed"
}

// thousands writes n with thousands separators: 10,000,000.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
