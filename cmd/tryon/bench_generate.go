package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/app"
	"github.com/tryonhq/tryon/pkg/config"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Round-trip targets of a warm instance: the whole of admission, provider
// call, storing the output and settlement in 2, a read in 1.
const (
	postRoundTripTarget = 2
	getRoundTripTarget  = 1
)

// benchSide is the width and height asked of every generation: small, so the
// numbers are about the API and the database, not about encoding PNGs.
const benchSide = 256

// benchGenerate runs `tryon bench generate`: concurrent clients against the
// real server on loopback, with the fake provider at zero latency, and a
// markdown table of throughput, latency and Postgres round trips per request.
// Every request must succeed; the round-trip targets are reported, not
// enforced, so the table can show how far off they are.
func benchGenerate(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("bench generate", flag.ContinueOnError)
	clients := fs.Int("clients", 8, "concurrent clients")
	requests := fs.Int("requests", 2000, "requests measured for each POST /generate row")
	getRatio := fs.Float64("get-ratio", 1, "GET /generate/:id requests measured, as a multiple of -requests")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageError{"bench generate takes no positional arguments"}
	case *clients < 1 || *clients > 100:
		return usageError{"-clients must be between 1 and 100 (one database connection each)"}
	case *requests < 1:
		return usageError{"-requests must be at least 1"}
	case !(*getRatio > 0) || *getRatio > 100:
		return usageError{"-get-ratio must be more than 0 and at most 100"}
	}
	gets := max(1, int(math.Round(*getRatio*float64(*requests))))

	dbURL, where, stop, err := benchDatabase(ctx, e, productionDurability...)
	if err != nil {
		return err
	}
	defer stop()
	probe, err := newPGProbe(ctx, dbURL)
	if err != nil {
		return err
	}
	defer probe.close()
	var durability string
	if err := probe.conn.QueryRow(ctx, `SELECT format('fsync=%s, synchronous_commit=%s, full_page_writes=%s',
		current_setting('fsync'), current_setting('synchronous_commit'), current_setting('full_page_writes'))`).Scan(&durability); err != nil {
		return fmt.Errorf("read the server's durability settings: %w", err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on loopback: %w", err)
	}
	defer l.Close()
	base := "http://" + l.Addr().String()

	// The configuration is fixed rather than read from the environment, so
	// a GEMINI_API_KEY or BLOB_READ_WRITE_TOKEN in the shell can neither
	// spend money nor change what is measured. One pool connection per
	// client keeps the clients from queueing on the pool, which would show
	// up as latency that has nothing to do with the code. KEY_CACHE_TTL is
	// at its maximum so a key stays cached for as long as it can.
	cfg, err := config.Load(config.Map(map[string]string{
		"DATABASE_URL": dbURL, "DB_MAX_CONNS": strconv.Itoa(*clients), "PUBLIC_BASE_URL": base,
		"PROVIDER_BANANA": "fake", "PROVIDER_BANANA_PRO": "fake", "PROVIDER_VEO3": "fake",
		"FAKE_LATENCY": "0s", "STORAGE": "postgres", "KEY_CACHE_TTL": "60s",
	}))
	if err != nil {
		return err
	}
	// Only warnings and errors are logged: a line per request would bury
	// the report, and a failed request is reported anyway.
	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(cfg, app.Options{Log: log})
	if err != nil {
		return err
	}
	defer a.Close()

	warm := max(20, 10**clients)
	price := cfg.DefaultPrice(tryon.ServiceBanana)
	ten, err := benchTenants(ctx, a.Store, price*tryon.Micros(2*(*requests+warm)))
	if err != nil {
		return err
	}

	srv := &http.Server{Handler: a.Server.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() {
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutCtx)
		<-served
	}()

	// Without enough idle connections per host the clients would keep
	// dialling, and the numbers would measure TCP handshakes.
	tr := &http.Transport{MaxIdleConns: *clients, MaxIdleConnsPerHost: *clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	b := &benchRun{client: &http.Client{Transport: tr}, base: base, clients: *clients, stderr: e.stderr, probe: probe}

	var ids []string
	post := func(key string, idempotent bool) func(context.Context, int) (*http.Request, error) {
		return func(ctx context.Context, _ int) (*http.Request, error) { return b.postGenerate(ctx, key, idempotent) }
	}
	rows := []benchRow{
		{name: "POST /generate (live, postpaid)", target: postRoundTripTarget, count: *requests, keepIDs: &ids,
			request: post(ten.postpaidLive, false)},
		{name: "POST /generate (live, prepaid)", target: postRoundTripTarget, count: *requests,
			request: post(ten.prepaidLive, false)},
		{name: "POST /generate (test key)", target: postRoundTripTarget, count: *requests,
			request: post(ten.postpaidTest, false)},
		{name: "POST /generate (live, prepaid, 8 tenants)", target: postRoundTripTarget, count: *requests,
			request: func(ctx context.Context, i int) (*http.Request, error) {
				return b.postGenerate(ctx, ten.sharedLive[i%len(ten.sharedLive)], false)
			}},
		{name: "POST /generate with Idempotency-Key", target: postRoundTripTarget, count: *requests,
			request: post(ten.postpaidLive, true)},
		{name: "GET /generate/:id", target: getRoundTripTarget, count: gets,
			request: func(ctx context.Context, i int) (*http.Request, error) {
				// The ids are those of the first row, all succeeded.
				return b.getGeneration(ctx, ten.postpaidLive, ids[i%len(ids)])
			}},
	}
	results := make([]rowResult, 0, len(rows))
	for _, r := range rows {
		res, err := b.run(ctx, r, warm)
		if err != nil {
			return err
		}
		results = append(results, res)
	}

	charged, err := ten.charged(ctx, a.Store)
	if err != nil {
		return err
	}
	var version string
	if err := a.Store.Pool().QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		return fmt.Errorf("read the server version: %w", err)
	}
	report := benchReport{
		command: commandLine(append([]string{"tryon", "bench", "generate"}, args...)),
		setup: fmt.Sprintf("%s %s/%s, %d CPUs; PostgreSQL %s on %s (%s), pool of %d connections; "+
			"fake provider at zero latency, %dx%d PNGs stored in Postgres; %d clients on loopback; "+
			"%d warm-up requests before each row, not measured but counted in the failure columns. "+
			"PostgreSQL's costs per request are the server's counters over the measured requests: "+
			"CPU of its processes (/proc; \"-\" for a server elsewhere), WAL bytes, records and full-page images "+
			"(pg_current_wal_lsn, pg_stat_wal), WAL flushes (pg_stat_wal.wal_sync) and commits (pg_stat_database). "+
			"The 8-tenant row spreads the same load over eight prepaid tenants, the prepaid row above puts it on one.",
			runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), version, where, durability, cfg.DBMaxConns,
			benchSide, benchSide, *clients, warm),
		prepaid: fmt.Sprintf("The prepaid tenant's balance went down by %s USD over its %d requests (price %s USD).",
			charged, *requests+warm, price),
		rows: results,
	}
	report.write(e.stdout)
	return report.failed()
}

// benchKeys are the benchmark's tenants and keys.
type benchKeys struct {
	postpaidLive, postpaidTest, prepaidLive string
	// sharedLive are the live keys of eight more prepaid tenants, which
	// share one row's load.
	sharedLive []string
	prepaidID  uuid.UUID
	opening    tryon.Micros
}

// benchTenants creates a postpaid and a prepaid tenant whose limits never
// refuse a benchmark request: the refusals would be cheap answers that flatter
// the numbers. Names are unique so the benchmark can run again on a kept
// database.
func benchTenants(ctx context.Context, s *postgres.Store, balance tryon.Micros) (*benchKeys, error) {
	suffix := uuid.NewString()[:8]
	limits := postgres.NewClient{RequestsPerMinute: 1_000_000, MaxConcurrent: 10_000}
	post := limits
	post.Name = "bench-postpaid-" + suffix
	postpaid, err := s.CreateClient(ctx, post)
	if err != nil {
		return nil, fmt.Errorf("create the benchmark tenants (is DATABASE_URL migrated?): %w", err)
	}
	pre := limits
	pre.Name, pre.BalanceMicros = "bench-prepaid-"+suffix, &balance
	prepaid, err := s.CreateClient(ctx, pre)
	if err != nil {
		return nil, fmt.Errorf("create the benchmark tenants: %w", err)
	}
	k := &benchKeys{prepaidID: prepaid.ID, opening: balance}
	for _, want := range []struct {
		key    *string
		client uuid.UUID
		kind   tryon.KeyKind
	}{
		{&k.postpaidLive, postpaid.ID, tryon.KeyLive},
		{&k.postpaidTest, postpaid.ID, tryon.KeyTest},
		{&k.prepaidLive, prepaid.ID, tryon.KeyLive},
	} {
		if *want.key, err = createKey(ctx, s, &want.client, want.kind, "bench", nil); err != nil {
			return nil, fmt.Errorf("create a benchmark key: %w", err)
		}
	}
	for i := range 8 {
		shared := pre
		shared.Name = fmt.Sprintf("bench-shared-%d-%s", i, suffix)
		c, err := s.CreateClient(ctx, shared)
		if err != nil {
			return nil, fmt.Errorf("create the benchmark tenants: %w", err)
		}
		key, err := createKey(ctx, s, &c.ID, tryon.KeyLive, "bench", nil)
		if err != nil {
			return nil, fmt.Errorf("create a benchmark key: %w", err)
		}
		k.sharedLive = append(k.sharedLive, key)
	}
	return k, nil
}

// charged is what the prepaid tenant has been charged so far: proof that the
// prepaid rows settled balances rather than skipping billing.
func (k *benchKeys) charged(ctx context.Context, s *postgres.Store) (tryon.Micros, error) {
	c, err := s.FindClient(ctx, k.prepaidID)
	if err != nil {
		return 0, fmt.Errorf("read the prepaid tenant: %w", err)
	}
	if c.BalanceMicros == nil {
		return 0, errors.New("the prepaid benchmark tenant has no balance")
	}
	return k.opening - *c.BalanceMicros, nil
}

// benchRow is one kind of request, measured as one row of the table.
type benchRow struct {
	name string
	// target is the most round trips a request may take on a warm instance.
	target int
	count  int
	// request builds the i-th request of a run.
	request func(ctx context.Context, i int) (*http.Request, error)
	// keepIDs, when set, receives the ids of the generations the measured
	// requests made.
	keepIDs *[]string
}

// benchRun issues the requests.
type benchRun struct {
	client  *http.Client
	base    string
	clients int
	stderr  io.Writer
	probe   *pgProbe
}

// generateBody is every POST /generate's body.
var generateBody = []byte(fmt.Sprintf(`{"prompt":"a red linen summer dress on a mannequin","width":%d,"height":%d}`, benchSide, benchSide))

func (b *benchRun) postGenerate(ctx context.Context, key string, idempotent bool) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base+"/generate", bytes.NewReader(generateBody))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Client-Key", key)
	if idempotent {
		// A new key each time: a replay would be a cheaper request than the
		// one this row is about.
		req.Header.Set("Idempotency-Key", "bench-"+uuid.NewString())
	}
	return req, nil
}

func (b *benchRun) getGeneration(ctx context.Context, key, id string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.base+"/generate/"+id, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Client-Key", key)
	return req, nil
}

// run warms the instance up for a row and then measures it.
func (b *benchRun) run(ctx context.Context, r benchRow, warm int) (rowResult, error) {
	// Warming up with the row's own requests at full concurrency opens
	// every pool connection and caches the row's statement descriptions
	// and keys on them, so the measured requests see a warm instance.
	fmt.Fprintf(b.stderr, "%s: %d warm-up requests, then %d measured…\n", r.name, warm, r.count)
	w, err := b.measure(ctx, r, warm)
	if err != nil {
		return rowResult{}, err
	}
	before, err := b.probe.snapshot(ctx)
	if err != nil {
		return rowResult{}, err
	}
	res, err := b.measure(ctx, r, r.count)
	if err != nil {
		return rowResult{}, err
	}
	after, err := b.probe.snapshot(ctx)
	if err != nil {
		return rowResult{}, err
	}
	if res.pg, err = b.probe.since(ctx, before, after); err != nil {
		return rowResult{}, err
	}
	// A failed warm-up request is as much a failure of the row as a
	// measured one; it is counted rather than ending the run, so that one
	// sporadic error still leaves a table to read.
	res.warm = warm
	res.non2xx += w.non2xx
	res.noAnswer += w.noAnswer
	if res.firstFailure == "" {
		res.firstFailure = w.firstFailure
	}
	if r.keepIDs != nil {
		for _, s := range res.samples {
			if s.failure == "" {
				*r.keepIDs = append(*r.keepIDs, s.id)
			}
		}
		if len(*r.keepIDs) == 0 {
			return rowResult{}, fmt.Errorf("%s: no generation succeeded; first failure: %s", r.name, res.firstFailure)
		}
	}
	return res, nil
}

// sample is one request's outcome.
type sample struct {
	latency    time.Duration
	roundTrips int
	status     int
	// failure says why the request failed; empty when it succeeded.
	failure string
	id      string
}

// measure sends n requests from b.clients concurrent clients.
func (b *benchRun) measure(ctx context.Context, r benchRow, n int) (rowResult, error) {
	samples := make([]sample, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range b.clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				samples[i] = b.do(ctx, r, i)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return rowResult{}, err
	}
	return summarize(r, samples, elapsed), nil
}

// do sends one request and reads its answer to the end, as a client would.
func (b *benchRun) do(ctx context.Context, r benchRow, i int) sample {
	req, err := r.request(ctx, i)
	if err != nil {
		return sample{failure: err.Error()}
	}
	start := time.Now()
	resp, err := b.client.Do(req)
	if err != nil {
		return sample{failure: err.Error()}
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	s := sample{latency: time.Since(start), status: resp.StatusCode}
	switch {
	case err != nil:
		s.failure = "read the answer: " + err.Error()
	case resp.StatusCode/100 != 2:
		s.failure = fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(body[:min(len(body), 300)]))
	default:
		if s.roundTrips, err = roundTrips(resp.Header.Get("Server-Timing")); err != nil {
			s.failure = err.Error()
		}
	}
	if s.failure == "" && r.keepIDs != nil {
		var env struct {
			Data struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &env); err != nil || env.Data.Status != string(tryon.StatusSucceeded) || env.Data.ID == "" {
			s.failure = fmt.Sprintf("not a succeeded generation: %.300s", body)
		}
		s.id = env.Data.ID
	}
	return s
}

var roundTripsDesc = regexp.MustCompile(`(?:^|,)\s*db;[^,]*desc="(\d+) round trips?"`)

// roundTrips reads the Postgres round trips of a request from its
// Server-Timing header; the server leaves the db entry out when there were
// none.
func roundTrips(serverTiming string) (int, error) {
	if serverTiming == "" {
		return 0, errors.New("no Server-Timing header: round trips cannot be counted")
	}
	m := roundTripsDesc.FindStringSubmatch(serverTiming)
	if m == nil {
		if strings.Contains(serverTiming, "db;") {
			return 0, fmt.Errorf("Server-Timing %q: no round-trip count in its db entry", serverTiming)
		}
		return 0, nil
	}
	return strconv.Atoi(m[1])
}

// rowResult is a measured row.
type rowResult struct {
	name         string
	target       int
	n            int
	warm         int // warm-up requests, whose failures are counted too
	elapsed      time.Duration
	p50, p99     time.Duration
	meanTrips    float64
	maxTrips     int
	non2xx       int
	noAnswer     int
	firstFailure string
	samples      []sample
	// pg is what PostgreSQL spent on the measured requests.
	pg pgCost
}

func (r rowResult) failed() int { return r.non2xx + r.noAnswer }

// overTarget reports whether the row takes more round trips than its target
// on any request.
func (r rowResult) overTarget() bool { return r.maxTrips > r.target }

func summarize(r benchRow, samples []sample, elapsed time.Duration) rowResult {
	res := rowResult{name: r.name, target: r.target, n: len(samples), elapsed: elapsed, samples: samples}
	var latencies []time.Duration
	trips := 0
	for _, s := range samples {
		if s.failure != "" {
			if s.status != 0 && s.status/100 != 2 {
				res.non2xx++
			} else {
				res.noAnswer++
			}
			if res.firstFailure == "" {
				res.firstFailure = s.failure
			}
			continue
		}
		latencies = append(latencies, s.latency)
		trips += s.roundTrips
		res.maxTrips = max(res.maxTrips, s.roundTrips)
	}
	if len(latencies) > 0 {
		slices.Sort(latencies)
		res.p50, res.p99 = percentile(latencies, 50), percentile(latencies, 99)
		res.meanTrips = float64(trips) / float64(len(latencies))
	}
	return res
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// benchReport is what `tryon bench generate` prints.
type benchReport struct {
	command, setup, prepaid string
	rows                    []rowResult
}

func (rep benchReport) write(w io.Writer) {
	fmt.Fprintf(w, "```\n$ %s\n```\n\n%s\n\n", rep.command, rep.setup)
	fmt.Fprintln(w, "| Request | Requests | Requests/s | p50 | p99 | Round trips (mean) | Round trips (max) | Target | Non-2xx | Other errors "+
		"| PG CPU ms/req | WAL bytes/req | WAL records/req | WAL full pages/req | WAL flushes/req | Commits/req |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rep.rows {
		cpu := "-"
		if r.pg.cpuKnown && r.n > 0 {
			cpu = fmt.Sprintf("%.3f", float64(r.pg.cpu.Microseconds())/1000/float64(r.n))
		}
		fmt.Fprintf(w, "| %s | %d | %.0f | %s | %s | %.2f | %d | ≤ %d | %d | %d | %s | %s | %s | %s | %s | %s |\n",
			r.name, r.n, float64(r.n)/r.elapsed.Seconds(), ms(r.p50), ms(r.p99),
			r.meanTrips, r.maxTrips, r.target, r.non2xx, r.noAnswer,
			cpu, perRequest(r.pg.walBytes, r.n, 0), perRequest(r.pg.walRecords, r.n, 1), perRequest(r.pg.walFPI, r.n, 2),
			perRequest(r.pg.walSyncs, r.n, 2), perRequest(r.pg.commits, r.n, 2))
	}
	fmt.Fprintf(w, "\n%s\n", rep.prepaid)
	var over []string
	for _, r := range rep.rows {
		if r.overTarget() {
			over = append(over, fmt.Sprintf("%s takes %.2f round trips on average and up to %d, %d over its target of %d",
				r.name, r.meanTrips, r.maxTrips, r.maxTrips-r.target, r.target))
		}
	}
	if len(over) == 0 {
		fmt.Fprintf(w, "Round-trip targets (≤ %d per POST /generate, ≤ %d per GET /generate/:id) are met.\n",
			postRoundTripTarget, getRoundTripTarget)
		return
	}
	fmt.Fprintf(w, "Round-trip targets missed: %s.\n", strings.Join(over, "; "))
}

// failed is the error of a run in which any request failed: its numbers
// would describe some other, cheaper, request.
func (rep benchReport) failed() error {
	var total, failed int
	var first string
	for _, r := range rep.rows {
		total += r.n + r.warm
		failed += r.failed()
		if first == "" && r.firstFailure != "" {
			first = r.name + ": " + r.firstFailure
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d requests (warm-up included) failed; first: %s", failed, total, first)
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
