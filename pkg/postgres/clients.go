package postgres

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// The balance is balance_micros less the charges not yet folded into it.
const clientColumns = `c.id, c.name, c.status, c.prices, c.balance_micros - tryon_unsettled(c.id), c.requests_per_minute,
	c.max_concurrent, coalesce(c.webhook_url, ''), c.created_at, c.updated_at,
	coalesce(c.default_service, '')`

// clientWithReserved selects a tenant with what its generations in flight
// reserve, for scanClient with one extra destination.
const clientWithReserved = `SELECT ` + clientColumns + `, f.reserved_micros FROM clients c, tryon_in_flight(c.id) f`

func scanClient(row pgx.Row, extra ...any) (*tryon.Client, error) {
	var c tryon.Client
	var prices map[string]int64
	var balance *int64
	dest := append([]any{&c.ID, &c.Name, &c.Status, &prices, &balance, &c.RequestsPerMinute,
		&c.MaxConcurrent, &c.WebhookURL, &c.CreatedAt, &c.UpdatedAt, &c.DefaultService}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	c.Prices = make(map[tryon.Service]tryon.Micros, len(prices))
	for s, p := range prices {
		c.Prices[tryon.Service(s)] = tryon.Micros(p)
	}
	if balance != nil {
		b := tryon.Micros(*balance)
		c.BalanceMicros = &b
	}
	return &c, nil
}

// NewClient describes a tenant to create.
type NewClient struct {
	Name string
	// BalanceMicros makes the tenant prepaid with this opening balance; nil
	// makes it postpaid.
	BalanceMicros     *tryon.Micros
	RequestsPerMinute int // 0 means the default (60)
	MaxConcurrent     int // 0 means the default (4)
}

// CreateClient creates a tenant and records its opening balance in the ledger.
func (s *Store) CreateClient(ctx context.Context, nc NewClient) (*tryon.Client, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	var balance *int64
	if nc.BalanceMicros != nil {
		b := int64(*nc.BalanceMicros)
		balance = &b
	}
	row := s.pool.QueryRow(ctx, `
		WITH c AS (
			INSERT INTO clients (id, name, balance_micros, requests_per_minute, max_concurrent)
			VALUES ($1, $2, $3, coalesce(nullif($4, 0), 60), coalesce(nullif($5, 0), 4))
			RETURNING *
		), l AS (
			INSERT INTO client_ledger (client_id, kind, amount_micros, balance_after, reason)
			SELECT id, 'create', coalesce(balance_micros, 0), balance_micros, 'client created' FROM c
		)
		SELECT `+clientColumns+` FROM c`, id, nc.Name, balance, nc.RequestsPerMinute, nc.MaxConcurrent)
	c, err := scanClient(row)
	if err != nil {
		return nil, translate(err, "create client")
	}
	return c, nil
}

// FindClient returns a tenant by id, with its current reservations.
func (s *Store) FindClient(ctx context.Context, id uuid.UUID) (*tryon.Client, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var reserved int64
	c, err := scanClient(s.pool.QueryRow(ctx, clientWithReserved+` WHERE c.id = $1`, id), &reserved)
	if err != nil {
		return nil, translate(err, "find client")
	}
	c.ReservedMicros = tryon.Micros(reserved)
	return c, nil
}

// FindClientByName returns a tenant by its unique name.
func (s *Store) FindClientByName(ctx context.Context, name string) (*tryon.Client, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var id uuid.UUID
	if err := s.pool.QueryRow(ctx, `SELECT id FROM clients WHERE name = $1`, name).Scan(&id); err != nil {
		return nil, translate(err, "find client")
	}
	return s.FindClient(ctx, id)
}

// ListClients returns every tenant, oldest first.
func (s *Store) ListClients(ctx context.Context) ([]*tryon.Client, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, clientWithReserved+` ORDER BY c.created_at, c.id`)
	if err != nil {
		return nil, translate(err, "list clients")
	}
	defer rows.Close()
	var out []*tryon.Client
	for rows.Next() {
		var reserved int64
		c, err := scanClient(rows, &reserved)
		if err != nil {
			return nil, translate(err, "list clients")
		}
		c.ReservedMicros = tryon.Micros(reserved)
		out = append(out, c)
	}
	return out, translate(rows.Err(), "list clients")
}

// ClientChange is one change to a tenant, recorded in its ledger with the
// reason the operator gave.
type ClientChange struct {
	Reason string
	// Exactly one of the following is set.
	Status        tryon.ClientStatus
	Prices        map[tryon.Service]tryon.Micros // merged into the overrides
	Limits        *Limits
	CreditMicros  tryon.Micros // added to (or, negative, taken from) the balance
	Webhook       *Webhook
	MakePostpaid  bool // drops the balance: the tenant is billed afterwards
	MakePrepaid   bool // starts a zero balance (add credit separately)
	EnsurePrepaid bool // with CreditMicros: a postpaid tenant becomes prepaid
	RetentionDays int  // how long outputs are kept (see SetRetention, which checks it)
}

// Limits are a tenant's request limits; zero fields are left unchanged.
type Limits struct {
	RequestsPerMinute int
	MaxConcurrent     int
}

// Webhook is a tenant's webhook endpoint; an empty URL removes it.
type Webhook struct {
	URL    string
	Secret string
}

// ChangeClient applies one change and records it in the ledger, in one
// transaction. Taking credit away never takes the balance below what
// in-flight generations have reserved.
func (s *Store) ChangeClient(ctx context.Context, id uuid.UUID, ch ClientChange) (*tryon.Client, error) {
	if ch.Reason == "" {
		return nil, tryon.Invalid(tryon.FieldError{Field: "reason", Message: "is required"})
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		c, err := scanClient(tx.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients c WHERE id = $1 FOR NO KEY UPDATE`, id))
		if err != nil {
			return err
		}
		// With the row locked, fold the unsettled charges in, so that
		// balance_micros is the balance (but for charges committed from
		// now on, which the checks below subtract), and a switch to
		// postpaid and back leaves none of the prepaid days' behind.
		if _, err := tx.Exec(ctx, `SELECT tryon_settle($1)`, id); err != nil {
			return err
		}
		kind, amount, details := "", int64(0), map[string]any{}
		switch {
		case ch.Status != "":
			kind, details["from"], details["to"] = "status", c.Status, ch.Status
			_, err = tx.Exec(ctx, `UPDATE clients SET status = $2, updated_at = now() WHERE id = $1`, id, ch.Status)
		case ch.Prices != nil:
			prices := map[string]int64{}
			for svc, p := range ch.Prices {
				if !svc.Valid() || p < 0 {
					return tryon.Errorf(tryon.CodeInvalidRequest, "invalid price for %q", svc)
				}
				prices[string(svc)] = int64(p)
			}
			kind, details["prices"] = "price", prices
			_, err = tx.Exec(ctx, `UPDATE clients SET prices = prices || $2, updated_at = now() WHERE id = $1`, id, prices)
		case ch.Limits != nil:
			kind, details["limits"] = "limits", ch.Limits
			_, err = tx.Exec(ctx, `UPDATE clients SET
				requests_per_minute = coalesce(nullif($2, 0), requests_per_minute),
				max_concurrent = coalesce(nullif($3, 0), max_concurrent), updated_at = now()
				WHERE id = $1`, id, ch.Limits.RequestsPerMinute, ch.Limits.MaxConcurrent)
		case ch.RetentionDays != 0:
			var from int
			err = tx.QueryRow(ctx, `
				UPDATE clients c SET retention_days = $2, updated_at = now()
				FROM (SELECT retention_days FROM clients WHERE id = $1) old
				WHERE c.id = $1 RETURNING old.retention_days`, id, ch.RetentionDays).Scan(&from)
			kind, details["retention_days"] = "limits", map[string]int{"from": from, "to": ch.RetentionDays}
		case ch.Webhook != nil:
			kind, details["url"] = "webhook", ch.Webhook.URL
			_, err = tx.Exec(ctx, `UPDATE clients SET webhook_url = nullif($2, ''), webhook_secret = nullif($3, ''),
				updated_at = now() WHERE id = $1`, id, ch.Webhook.URL, ch.Webhook.Secret)
		case ch.MakePostpaid:
			kind, details["billing"] = "credit", "postpaid"
			_, err = tx.Exec(ctx, `UPDATE clients SET balance_micros = NULL, updated_at = now() WHERE id = $1`, id)
		case ch.MakePrepaid:
			// A postpaid tenant's generations in flight reserve their price
			// too; a zero balance could not settle them. The tenant row is
			// locked, so no admission slips in between the check and the switch.
			kind, details["billing"] = "credit", "prepaid"
			var ok bool
			err = tx.QueryRow(ctx, `
				UPDATE clients c SET balance_micros = coalesce(balance_micros, 0), updated_at = now()
				FROM tryon_in_flight($1) f
				WHERE c.id = $1 AND coalesce(c.balance_micros, 0) - tryon_unsettled(c.id) >= f.reserved_micros
				RETURNING true`, id).Scan(&ok)
			if err == pgx.ErrNoRows {
				return tryon.Errorf(tryon.CodeInvalidRequest,
					"client %s has live generations in flight that a prepaid balance of 0 could not settle; switch once they finish", c.Name)
			}
		case ch.CreditMicros != 0:
			if c.BalanceMicros == nil && !ch.EnsurePrepaid {
				return tryon.Errorf(tryon.CodeInvalidRequest, "client %s is postpaid; make it prepaid first", c.Name)
			}
			kind, amount = "credit", int64(ch.CreditMicros)
			var ok bool
			err = tx.QueryRow(ctx, `
				UPDATE clients c SET balance_micros = coalesce(balance_micros, 0) + $2, updated_at = now()
				FROM tryon_in_flight($1) f
				WHERE c.id = $1 AND coalesce(c.balance_micros, 0) - tryon_unsettled(c.id) + $2 >= f.reserved_micros
				RETURNING true`, id, amount).Scan(&ok)
			if err == pgx.ErrNoRows {
				return tryon.Errorf(tryon.CodeInvalidRequest, "the balance cannot go below what in-flight generations reserve")
			}
		default:
			return tryon.Errorf(tryon.CodeInvalidRequest, "nothing to change")
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO client_ledger (client_id, kind, amount_micros, balance_after, details, reason)
			SELECT id, $2, $3, balance_micros - tryon_unsettled(id), $4, $5 FROM clients WHERE id = $1`,
			id, kind, amount, details, ch.Reason)
		return err
	})
	if err != nil {
		return nil, translate(err, "change client")
	}
	return s.FindClient(ctx, id)
}

// LedgerEntry is one recorded change to a tenant.
type LedgerEntry struct {
	Kind         string
	AmountMicros tryon.Micros
	BalanceAfter *tryon.Micros
	Details      json.RawMessage
	Reason       string
	CreatedAt    string
}

// Ledger returns a tenant's recorded changes, oldest first.
func (s *Store) Ledger(ctx context.Context, id uuid.UUID) ([]LedgerEntry, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `
		SELECT kind, amount_micros, balance_after, details, reason, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
		FROM client_ledger WHERE client_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, translate(err, "ledger")
	}
	entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LedgerEntry, error) {
		var e LedgerEntry
		var bal *int64
		err := r.Scan(&e.Kind, &e.AmountMicros, &bal, &e.Details, &e.Reason, &e.CreatedAt)
		if bal != nil {
			b := tryon.Micros(*bal)
			e.BalanceAfter = &b
		}
		return e, err
	})
	return entries, translate(err, "ledger")
}
