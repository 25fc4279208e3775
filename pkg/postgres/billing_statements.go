package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/billing"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// ReadStatement reads a tenant's statement for [from, to) in one
// repeatable-read transaction, so its lines, adjustments and balances agree
// with each other even while the tenant is being charged. A month belongs to
// a usage record or ledger entry by the time it was written (created_at).
func (s *Store) ReadStatement(ctx context.Context, clientID uuid.UUID, from, to time.Time) (*billing.Statement, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	st := &billing.Statement{ClientID: clientID}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var opening, closing *int64
		err := tx.QueryRow(ctx, `SELECT name, tryon_balance_at(id, $2), tryon_balance_at(id, $3) FROM clients WHERE id = $1`,
			clientID, from, to).Scan(&st.ClientName, &opening, &closing)
		if err != nil {
			return err
		}
		st.OpeningBalance, st.ClosingBalance = microsOrNil(opening), microsOrNil(closing)

		rows, err := tx.Query(ctx, `
			SELECT g.service, g.mode, u.amount_micros, count(*)
			FROM usage_records u JOIN generations g ON g.id = u.generation_id
			WHERE u.client_id = $1 AND u.created_at >= $2 AND u.created_at < $3 AND g.mode = 'live'
			GROUP BY g.service, g.mode, u.amount_micros
			ORDER BY g.service, g.mode, u.amount_micros`, clientID, from, to)
		if err != nil {
			return err
		}
		st.Lines, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.LineItem, error) {
			var l billing.LineItem
			err := r.Scan(&l.Service, &l.Mode, &l.UnitPriceMicros, &l.Count)
			return l, err
		})
		if err != nil {
			return err
		}

		// Money entries: credits (top-ups, refunds, corrections, switches of
		// billing) and an opening balance given at creation.
		rows, err = tx.Query(ctx, `
			SELECT created_at, kind, amount_micros, balance_after, reason, details
			FROM client_ledger
			WHERE client_id = $1 AND created_at >= $2 AND created_at < $3
			  AND (kind = 'credit' OR kind = 'create' AND amount_micros <> 0)
			ORDER BY id`, clientID, from, to)
		if err != nil {
			return err
		}
		st.Adjustments, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Adjustment, error) {
			var a billing.Adjustment
			var after *int64
			err := r.Scan(&a.At, &a.Kind, &a.AmountMicros, &after, &a.Reason, &a.Details)
			a.BalanceAfter = microsOrNil(after)
			return a, err
		})
		return err
	})
	if err != nil {
		return nil, translate(err, "read statement")
	}
	return st, nil
}

// EachBillableGeneration streams a tenant's usage records of [from, to),
// oldest first, with their generations.
func (s *Store) EachBillableGeneration(ctx context.Context, clientID uuid.UUID, from, to time.Time, fn func(billing.BillableGeneration) error) error {
	rows, err := s.pool.Query(ctx, `
		SELECT u.generation_id, g.created_at, u.created_at, g.service, g.mode, g.provider, g.model, u.amount_micros
		FROM usage_records u JOIN generations g ON g.id = u.generation_id
		WHERE u.client_id = $1 AND u.created_at >= $2 AND u.created_at < $3 AND g.mode = 'live'
		ORDER BY u.created_at, u.generation_id`, clientID, from, to)
	if err != nil {
		return translate(err, "billable generations")
	}
	defer rows.Close()
	var g billing.BillableGeneration
	_, err = pgx.ForEachRow(rows, []any{&g.GenerationID, &g.CreatedAt, &g.BilledAt, &g.Service, &g.Mode, &g.Provider, &g.Model, &g.AmountMicros},
		func() error { return fn(g) })
	return translate(err, "billable generations")
}

func microsOrNil(v *int64) *tryon.Micros {
	if v == nil {
		return nil
	}
	m := tryon.Micros(*v)
	return &m
}
