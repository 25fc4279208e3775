package generation_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// ledger is what the database says about a tenant's money, read directly
// so tests check the store, not the API's own report of itself.
type ledger struct {
	balance            *int64
	reserved           int64
	charged, usageRows int64
	processing         int
}

func readLedger(t *testing.T, env *apptest.Env, client uuid.UUID) ledger {
	t.Helper()
	var l ledger
	err := env.Store.Pool().QueryRow(context.Background(), `
		SELECT c.balance_micros - tryon_unsettled(c.id), f.reserved_micros,
		       (SELECT coalesce(sum(cost_micros), 0) FROM generations WHERE client_id = c.id),
		       (SELECT coalesce(sum(amount_micros), 0) FROM usage_records WHERE client_id = c.id),
		       (SELECT count(*) FROM generations WHERE client_id = c.id AND status = 'processing')
		FROM clients c, tryon_in_flight(c.id) f WHERE c.id = $1`, client).
		Scan(&l.balance, &l.reserved, &l.charged, &l.usageRows, &l.processing)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func countGenerations(t *testing.T, env *apptest.Env, client uuid.UUID) int {
	t.Helper()
	var n int
	if err := env.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM generations WHERE client_id = $1`, client).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
