package generation_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestPoolOfOneUnderLoad sends 200 concurrent live POSTs through one pooled
// connection with a tight statement time limit: waiting for the connection
// is a queue, not an outage, so none is answered 503, no paid result is
// thrown away because storing it waited, and the books reconcile.
func TestPoolOfOneUnderLoad(t *testing.T) {
	const n = 200
	env := apptest.New(t, apptest.Options{Settings: map[string]string{"DB_MAX_CONNS": "1", "FAKE_LATENCY": "100ms"}})
	// Far less than the queue for the one connection takes, far more than
	// any one statement needs.
	env.Store.SetTimeouts(500*time.Millisecond, 0)
	balance := tryon.Micros(100_000_000)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance, MaxConcurrent: n, RequestsPerMinute: 10 * n})
	initial := int64(balance)

	// Hold the one connection for twice the statement limit while the
	// requests arrive, so the queue starts long.
	held, err := env.Store.Pool().Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	answers := make([]*apptest.Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = env.Generate(shop.LiveKey, map[string]any{"prompt": fmt.Sprintf("load %d", i), "width": 256, "height": 256})
		}()
	}
	time.Sleep(time.Second)
	held.Release()
	wg.Wait()
	failed := map[string]int{}
	for _, a := range answers {
		if a.Status != 200 {
			failed[fmt.Sprintf("%d %s", a.Status, a.Code)]++
		}
	}
	if len(failed) > 0 {
		t.Errorf("of %d requests, failed: %v", n, failed)
	}
	l := reconcile(t, env, shop.Client.ID, &initial)
	if want := int64((n - len(failed)) * 40_000); len(failed) == 0 && l.charged != want {
		t.Errorf("charged %d, want %d", l.charged, want)
	}
	if got := countGenerations(t, env, shop.Client.ID); len(failed) == 0 && got != n {
		t.Errorf("%d generations recorded for %d requests", got, n)
	}
}
