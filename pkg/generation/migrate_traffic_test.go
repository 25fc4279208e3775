package generation_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestMigrateUnderTraffic applies the schema again and again, as `tryon
// migrate` does after every upgrade, while live POST /generate traffic
// settles money on the same tenant: no migration fails (deadlock detected
// was the symptom), no request fails, and the books reconcile.
func TestMigrateUnderTraffic(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	balance := tryon.Micros(1_000_000_000)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance, MaxConcurrent: 100, RequestsPerMinute: 100_000})
	initial := int64(balance)
	path, err := postgres.FindSchema()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, env.Store.Pool().Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	stop := make(chan struct{})
	var sent, failed atomic.Int64
	var firstFailure atomic.Value
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := env.Generate(shop.LiveKey, map[string]any{"prompt": fmt.Sprintf("w%d %d", w, i), "width": 256, "height": 256})
				sent.Add(1)
				if r.Status != 200 {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprintf("%d %s", r.Status, r.Body))
				}
			}
		}()
	}
	var migrateErr error
	for range 15 {
		if migrateErr = postgres.ApplySchema(ctx, conn, path); migrateErr != nil {
			break
		}
	}
	close(stop)
	wg.Wait()
	if migrateErr != nil {
		t.Errorf("migrate under traffic: %v", migrateErr)
	}
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d requests failed, the first: %v", n, sent.Load(), firstFailure.Load())
	}
	reconcile(t, env, shop.Client.ID, &initial)
}
