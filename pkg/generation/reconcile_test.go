package generation_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apptest"
)

// reconcile checks a tenant's books after a fault: nothing left processing,
// nothing reserved, every charge recorded once as usage, and a prepaid
// balance down by exactly what was charged. It returns the ledger.
func reconcile(t *testing.T, env *apptest.Env, client uuid.UUID, initialBalance *int64) ledger {
	t.Helper()
	l := readLedger(t, env, client)
	if l.processing != 0 {
		t.Errorf("%d generations left processing", l.processing)
	}
	if l.reserved != 0 {
		t.Errorf("%d micro-dollars still reserved", l.reserved)
	}
	if l.charged != l.usageRows {
		t.Errorf("generations charged %d, usage records %d", l.charged, l.usageRows)
	}
	var unbilled, orphanUsage int
	err := env.Store.Pool().QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM generations g WHERE g.client_id = $1 AND g.cost_micros > 0
		          AND NOT EXISTS (SELECT 1 FROM usage_records u WHERE u.generation_id = g.id)),
		       (SELECT count(*) FROM usage_records u JOIN generations g ON g.id = u.generation_id
		          WHERE u.client_id = $1 AND (g.status <> 'succeeded' OR u.amount_micros <> g.cost_micros))`, client).
		Scan(&unbilled, &orphanUsage)
	if err != nil {
		t.Fatal(err)
	}
	if unbilled != 0 || orphanUsage != 0 {
		t.Errorf("%d charged generations without a usage record, %d usage records not matching a success", unbilled, orphanUsage)
	}
	if initialBalance != nil {
		if l.balance == nil || *l.balance != *initialBalance-l.charged {
			t.Errorf("balance %v, want %d - %d charged", l.balance, *initialBalance, l.charged)
		}
	}
	return l
}

// waitSettled waits, without touching the API (whose reads would expire
// rows themselves), until the tenant has nothing processing, or until
// limit; it returns how long that took.
func waitSettled(t *testing.T, env *apptest.Env, client uuid.UUID, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		var n int
		err := env.Store.Pool().QueryRow(context.Background(),
			`SELECT count(*) FROM generations WHERE client_id = $1 AND status = 'processing'`, client).Scan(&n)
		if err == nil && n == 0 {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%d generations still processing after %s (err %v)", n, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitProcessing waits until the tenant has n generations processing: all
// admitted, their provider calls running.
func waitProcessing(t *testing.T, env *apptest.Env, client uuid.UUID, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got int
		if err := env.Store.Pool().QueryRow(context.Background(),
			`SELECT count(*) FROM generations WHERE client_id = $1 AND status = 'processing'`, client).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d generations processing, want %d", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
