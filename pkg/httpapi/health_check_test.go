package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/bridgetest"
	"github.com/tryonhq/tryon/pkg/config"
	"github.com/tryonhq/tryon/pkg/httpapi"
	"github.com/tryonhq/tryon/pkg/pgcluster"
	"github.com/tryonhq/tryon/pkg/postgres"
)

// healthEnv is a server over its own PostgreSQL cluster, which a test may
// stop, with GET /health's clock under the test's control.
type healthEnv struct {
	cluster *pgcluster.Cluster
	srv     *httptest.Server
	now     atomic.Int64 // unix nanoseconds
}

func newHealthEnv(t *testing.T, maxConns int32) (*healthEnv, func() (release func())) {
	t.Helper()
	ctx := context.Background()
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	cfg, err := config.Load(config.Map(map[string]string{
		"DATABASE_URL":    c.URL,
		"PROVIDER_BANANA": "fake", "PROVIDER_BANANA_PRO": "fake", "PROVIDER_VEO3": "fake",
	}))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := postgres.OpenPool(cfg.DatabaseURL, postgres.PoolOptions{MaxConns: maxConns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	e := &healthEnv{cluster: c}
	e.now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	s := httpapi.NewServer(cfg, postgres.NewStore(pool), nil, apptest.Logger())
	httpapi.SetHealthClock(s, func() time.Time { return time.Unix(0, e.now.Load()) })
	e.srv = bridgetest.NewServer(t, s.Function, bridgetest.OriginalPath)
	// hold takes the pool's only connection, so that pings queue behind it.
	hold := func() func() {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return conn.Release
	}
	return e, hold
}

// get calls GET /health and returns its status, body and database round trips.
func (e *healthEnv) get(t *testing.T) (int, string, int) {
	resp, err := http.Get(e.srv.URL + "/health")
	if err != nil {
		t.Error(err)
		return 0, "", 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	trips := 0
	if m := roundTripsRE.FindStringSubmatch(resp.Header.Get("Server-Timing")); m != nil {
		trips, _ = strconv.Atoi(m[1])
	}
	return resp.StatusCode, string(body), trips
}

func TestConcurrentHealthChecksCostOneRoundTrip(t *testing.T) {
	e, hold := newHealthEnv(t, 1)
	// The pool's only connection is busy while the calls start, so the
	// first ping waits for it and the others arrive while it is in flight.
	release := hold()
	const n = 32
	var wg, started sync.WaitGroup
	var trips atomic.Int64
	started.Add(n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			status, body, rt := e.get(t)
			if status != 200 || !strings.Contains(body, `"database":"ok"`) {
				t.Errorf("health: %d %s", status, body)
			}
			trips.Add(int64(rt))
		}()
	}
	started.Wait()
	release()
	wg.Wait()
	if got := trips.Load(); got != 1 {
		t.Fatalf("%d concurrent health checks made %d database round trips, want 1", n, got)
	}
}

func TestHealthReportsAStoppedDatabaseWithinTheInterval(t *testing.T) {
	e, _ := newHealthEnv(t, 1)
	if status, body, rt := e.get(t); status != 200 || rt != 1 {
		t.Fatalf("first check: %d, %d round trips, %s", status, rt, body)
	}
	e.cluster.Crash()
	// Within the interval the success is reused: no round trip.
	e.now.Add(int64(httpapi.HealthReuse - time.Millisecond))
	if status, body, rt := e.get(t); status != 200 || rt != 0 {
		t.Fatalf("within the interval: %d, %d round trips, %s", status, rt, body)
	}
	// Once the interval is over, the stopped database shows.
	e.now.Add(int64(time.Millisecond))
	for i := range 2 {
		// A failure is not reused: the second call asks again.
		status, body, _ := e.get(t)
		if status != 503 || !strings.Contains(body, `"code":"unavailable"`) || !strings.Contains(body, `"database":"error"`) {
			t.Fatalf("check %d with the database stopped: %d %s", i, status, body)
		}
	}
	// Nor does a failure delay the recovery: with the clock unchanged, the
	// next call after a restart asks the database and succeeds.
	if err := e.cluster.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if status, body, rt := e.get(t); status != 200 || rt != 1 {
		t.Fatalf("after the restart: %d, %d round trips, %s", status, rt, body)
	}
}
