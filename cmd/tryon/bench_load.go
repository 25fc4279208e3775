package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/app"
	"github.com/tryonhq/tryon/pkg/config"
	"github.com/tryonhq/tryon/pkg/httpapi"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// benchLoad sends a burst of concurrent POST /generate to a fresh instance
// whose provider takes a while, as a traffic spike meets a cold function:
// every request must be answered 200, PostgreSQL must never see more
// connections than the pool's size, and the books must reconcile.
func benchLoad(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("bench load", flag.ContinueOnError)
	requests := fs.Int("requests", 2000, "concurrent POST /generate requests, all sent at once")
	latency := fs.Duration("latency", 5*time.Second, "how long the fake provider takes per image")
	pool := fs.Int("pool", 4, "DB_MAX_CONNS of the instance")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageError{"bench load takes no positional arguments"}
	case *requests < 1 || *requests > 10_000:
		return usageError{"-requests must be between 1 and 10000"}
	case *latency < 0 || *latency > time.Minute:
		return usageError{"-latency must be between 0s and 1m"}
	case *pool < 1 || *pool > 100:
		return usageError{"-pool must be between 1 and 100"}
	}

	dbURL, where, stop, err := benchDatabase(ctx, e, productionDurability...)
	if err != nil {
		return err
	}
	defer stop()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on loopback: %w", err)
	}
	defer l.Close()
	base := "http://" + l.Addr().String()
	cfg, err := config.Load(config.Map(map[string]string{
		"DATABASE_URL": dbURL, "DB_MAX_CONNS": strconv.Itoa(*pool), "PUBLIC_BASE_URL": base,
		"PROVIDER_BANANA": "fake", "PROVIDER_BANANA_PRO": "fake", "PROVIDER_VEO3": "fake",
		"FAKE_LATENCY": latency.String(), "STORAGE": "postgres",
	}))
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	a, err := app.New(cfg, app.Options{Log: log})
	if err != nil {
		return err
	}
	defer a.Close()
	price := cfg.DefaultPrice(tryon.ServiceBanana)
	ten, err := benchTenants(ctx, a.Store, price*tryon.Micros(*requests+1))
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

	watch, err := watchConnections(ctx, dbURL)
	if err != nil {
		return err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *requests, DisableCompression: true}
	defer tr.CloseIdleConnections()
	generate, _ := httpapi.RouteByFunction("generate")
	client := &http.Client{Transport: tr, Timeout: 2 * generate.Budget()}
	body := []byte(fmt.Sprintf(`{"prompt":"a linen coat","width":%d,"height":%d}`, benchSide, benchSide))

	statuses := make([]int, *requests)
	latencies := make([]time.Duration, *requests)
	var transportErrors atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for i := range *requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/generate", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Client-Key", ten.prepaidLive)
			resp, err := client.Do(req)
			if err != nil {
				transportErrors.Add(1)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i], latencies[i] = resp.StatusCode, time.Since(t0)
		}()
	}
	wg.Wait()
	total := time.Since(start)
	maxConns := watch.stop()

	byStatus := map[int]int{}
	for _, s := range statuses {
		if s != 0 {
			byStatus[s]++
		}
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	rec, err := reconcileTenant(ctx, a, ten.prepaidID, ten.opening)
	if err != nil {
		return err
	}
	var version, fsync, syncCommit, fpw string
	_ = a.Store.Pool().QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('fsync'),
		current_setting('synchronous_commit'), current_setting('full_page_writes')`).Scan(&version, &fsync, &syncCommit, &fpw)

	w := e.stdout
	fmt.Fprintf(w, "$ %s\n\n", commandLine(append([]string{"tryon", "bench", "load"}, args...)))
	fmt.Fprintf(w, "%s %s/%s, %d CPUs; PostgreSQL %s on %s, fsync %s, synchronous_commit %s, full_page_writes %s; "+
		"a fresh instance with a pool of %d; fake provider taking %s per %dx%d PNG, stored in Postgres; "+
		"%d POST /generate sent at once with one live prepaid key.\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), version, where, fsync, syncCommit, fpw, *pool, *latency,
		benchSide, benchSide, *requests)
	errorsSeen := *requests - byStatus[http.StatusOK]
	fmt.Fprintf(w, "| requests | 200 | errors | other answers | max PostgreSQL connections | pool | total time | p50 | p99 | max |\n")
	fmt.Fprintf(w, "|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|\n")
	fmt.Fprintf(w, "| %d | %d | %d | %s | %d | %d | %.2f s | %s | %s | %s |\n\n", *requests, byStatus[http.StatusOK], errorsSeen,
		otherAnswers(byStatus, transportErrors.Load()), maxConns, *pool, total.Seconds(),
		secs(percentile(latencies, 0.5)), secs(percentile(latencies, 0.99)), secs(latencies[len(latencies)-1]))
	fmt.Fprintf(w, "Reconciliation: %s\n", rec)

	switch {
	case errorsSeen > 0:
		return fmt.Errorf("bench load: %d of %d requests failed", errorsSeen, *requests)
	case maxConns > *pool:
		return fmt.Errorf("bench load: %d PostgreSQL connections, above the pool of %d", maxConns, *pool)
	case !rec.ok(*requests, price):
		return fmt.Errorf("bench load: the books do not reconcile: %s", rec)
	}
	return nil
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func otherAnswers(byStatus map[int]int, transport int64) string {
	var s string
	codes := make([]int, 0, len(byStatus))
	for c := range byStatus {
		if c != http.StatusOK {
			codes = append(codes, c)
		}
	}
	sort.Ints(codes)
	for _, c := range codes {
		s += fmt.Sprintf("%d × %d; ", byStatus[c], c)
	}
	if transport > 0 {
		s += fmt.Sprintf("%d without an answer; ", transport)
	}
	if s == "" {
		return "none"
	}
	return s[:len(s)-2]
}

// connectionWatch samples how many client connections PostgreSQL serves
// for the benchmark's database, every 5 ms, through a connection of its own
// that it does not count.
type connectionWatch struct {
	done chan struct{}
	max  chan int
}

func watchConnections(ctx context.Context, url string) (*connectionWatch, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("connect the connection watch: %w", err)
	}
	w := &connectionWatch{done: make(chan struct{}), max: make(chan int, 1)}
	go func() {
		defer conn.Close(context.WithoutCancel(ctx))
		peak := 0
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var n int
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()`).Scan(&n); err == nil {
				peak = max(peak, n)
			}
			select {
			case <-w.done:
				w.max <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return w, nil
}

func (w *connectionWatch) stop() int {
	close(w.done)
	return <-w.max
}

// reconciliation is what the database says about the benchmark tenant.
type reconciliation struct {
	generations, succeeded, processing int
	charged, usage, balanceDrop        tryon.Micros
}

func (r reconciliation) String() string {
	return fmt.Sprintf("%d generations recorded (%d succeeded, %d processing); charged %s USD, usage records %s USD, balance down %s USD",
		r.generations, r.succeeded, r.processing, r.charged, r.usage, r.balanceDrop)
}

// ok: one succeeded generation per request, each charged once, nothing left.
func (r reconciliation) ok(requests int, price tryon.Micros) bool {
	want := price * tryon.Micros(requests)
	return r.generations == requests && r.succeeded == requests && r.processing == 0 &&
		r.charged == want && r.usage == want && r.balanceDrop == want
}

func reconcileTenant(ctx context.Context, a *app.App, client any, opening tryon.Micros) (reconciliation, error) {
	var r reconciliation
	var balance int64
	err := a.Store.Pool().QueryRow(ctx, `
		SELECT (SELECT count(*) FROM generations WHERE client_id = c.id),
		       (SELECT count(*) FROM generations WHERE client_id = c.id AND status = 'succeeded'),
		       (SELECT count(*) FROM generations WHERE client_id = c.id AND status = 'processing'),
		       (SELECT coalesce(sum(cost_micros), 0) FROM generations WHERE client_id = c.id),
		       (SELECT coalesce(sum(amount_micros), 0) FROM usage_records WHERE client_id = c.id),
		       c.balance_micros - tryon_unsettled(c.id)
		FROM clients c WHERE c.id = $1`, client).
		Scan(&r.generations, &r.succeeded, &r.processing, &r.charged, &r.usage, &balance)
	if err != nil {
		return r, fmt.Errorf("reconcile: %w", err)
	}
	r.balanceDrop = opening - tryon.Micros(balance)
	return r, nil
}
