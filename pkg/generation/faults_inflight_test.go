package generation_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/pgcluster"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// durableCluster starts a PostgreSQL of its own, durable as production is
// (a crash of the throwaway default could lose commits), with the schema;
// settings are added to the server's.
func durableCluster(t *testing.T, settings ...string) *pgcluster.Cluster {
	t.Helper()
	ctx := context.Background()
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{Settings: append([]string{"fsync=on", "synchronous_commit=on", "full_page_writes=on"}, settings...)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Stop)
	conn, err := pgx.Connect(ctx, cluster.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	path, _ := postgres.FindSchema()
	if err := postgres.ApplySchema(ctx, conn, path); err != nil {
		t.Fatal(err)
	}
	return cluster
}

// postConcurrently sends n live POSTs at once, each with its own
// Idempotency-Key, and returns the answers in order.
func postConcurrently(env *apptest.Env, key, run string, n int) ([]*apptest.Response, []string) {
	answers := make([]*apptest.Response, n)
	keys := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		keys[i] = fmt.Sprintf("%s-%d", run, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = env.Generate(key, map[string]any{"prompt": fmt.Sprintf("in flight %d", i)}, "Idempotency-Key", keys[i])
		}()
	}
	wg.Wait()
	return answers, keys
}

// TestDatabaseCrashWithRequestsInFlight crashes PostgreSQL for about a
// second while four live generations wait on their provider: their
// finishing steps retry, so every client gets its result (late), each is
// charged exactly once, and a retry with the same Idempotency-Key replays it.
func TestDatabaseCrashWithRequestsInFlight(t *testing.T) {
	cluster := durableCluster(t)
	env := apptest.New(t, apptest.Options{DatabaseURL: cluster.URL + "&connect_timeout=2",
		Settings: map[string]string{"FAKE_LATENCY": "1s"}})
	balance := tryon.Micros(10_000_000)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance, MaxConcurrent: 10})
	initial := int64(balance)

	var answers []*apptest.Response
	var keys []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		answers, keys = postConcurrently(env, shop.LiveKey, "crash", 4)
	}()
	waitProcessing(t, env, shop.Client.ID, 4)
	cluster.Crash()
	time.Sleep(1500 * time.Millisecond) // the outage: the providers answer meanwhile
	if err := cluster.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-done
	for i, a := range answers {
		if a.Status != 200 || a.Generation(t).Status != "succeeded" {
			t.Errorf("request %d: %d %s", i, a.Status, a.Body)
		}
	}
	l := reconcile(t, env, shop.Client.ID, &initial)
	if want := int64(4 * 40_000); l.charged != want {
		t.Errorf("charged %d, want %d", l.charged, want)
	}
	for i, k := range keys {
		r := env.Generate(shop.LiveKey, map[string]any{"prompt": fmt.Sprintf("in flight %d", i)}, "Idempotency-Key", k)
		if r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry %d: %d %s", i, r.Status, r.Body)
		}
	}
	reconcile(t, env, shop.Client.ID, &initial)
}

// TestDatabaseOutageLongerThanTheRequest: when the database stays down past
// the request's finishing time, the client gets 503 (never 500), the
// instance remembers the paid results, and settles them as soon as the
// database is back — long before the generations' deadline, with no
// request needed — so a retry with the same Idempotency-Key gets the
// result instead of 409 and then a timeout.
func TestDatabaseOutageLongerThanTheRequest(t *testing.T) {
	cluster := durableCluster(t)
	// Work ends at 16 s, finishing retries until about 20.7 s, the deadline
	// is 30 s: nine seconds for a crash recovery.
	env := apptest.New(t, apptest.Options{DatabaseURL: cluster.URL + "&connect_timeout=2",
		Settings:     map[string]string{"FAKE_LATENCY": "300ms", "BUDGET_MARGIN": "14s"},
		MaxDurations: map[string]time.Duration{"generate": 30 * time.Second}})
	balance := tryon.Micros(10_000_000)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance, MaxConcurrent: 10})
	initial := int64(balance)

	var answers []*apptest.Response
	var keys []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		answers, keys = postConcurrently(env, shop.LiveKey, "long", 4)
	}()
	waitProcessing(t, env, shop.Client.ID, 4)
	cluster.Crash()
	<-done // every request gave up with the database still down
	for i, a := range answers {
		if a.Status != 503 || a.Code != tryon.CodeUnavailable {
			t.Errorf("request %d with the database down: %d %s", i, a.Status, a.Body)
		}
	}
	if n := env.App.Runner.Unfinished(); n != 4 {
		t.Errorf("the instance remembers %d unfinished generations, want 4", n)
	}
	if err := cluster.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Nothing reads the generations through the API meanwhile, so only the
	// instance's own settling can finish them. The crash may have lost
	// their admissions (committed asynchronously), which the instance then
	// records again: nothing processing proves nothing until it is done.
	waitRemembered(t, env, 20*time.Second)
	waitSettled(t, env, shop.Client.ID, 20*time.Second)
	l := reconcile(t, env, shop.Client.ID, &initial)
	// Settled before the deadline, each is charged and its retry replays the
	// result. On a machine so busy that the crash recovery outlasted the
	// deadline, "the deadline wins": each is failed as timed out, uncharged.
	// Either way, never 409 and never a row left holding its reservation.
	late := l.charged == 0
	if !late && l.charged != 4*40_000 {
		t.Errorf("charged %d, want 0 or %d", l.charged, 4*40_000)
	}
	if late {
		t.Logf("the crash recovery outlasted the generations' deadline; they were released uncharged")
	}
	for i, k := range keys {
		r := env.Generate(shop.LiveKey, map[string]any{"prompt": fmt.Sprintf("in flight %d", i)}, "Idempotency-Key", k)
		switch {
		case r.Status == 409:
			t.Errorf("retry %d after the outage is still in progress: %s", i, r.Body)
		case !late && (r.Status != 200 || r.Generation(t).Output == nil):
			t.Errorf("retry %d after the outage: %d %s", i, r.Status, r.Body)
		case late && r.Code != tryon.CodeGenerationTimeout:
			t.Errorf("retry %d after the outage: %d %s", i, r.Status, r.Body)
		}
	}
	if h := env.Do(http.MethodGet, "/health", "", nil); h.Status != 200 {
		t.Errorf("health after the restart: %d", h.Status)
	}
}

// waitRemembered waits until the instance has finished every generation it
// remembered during an outage, or until limit.
func waitRemembered(t *testing.T, env *apptest.Env, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for env.App.Runner.Unfinished() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the instance still has %d generations to finish after %s", env.App.Runner.Unfinished(), limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
