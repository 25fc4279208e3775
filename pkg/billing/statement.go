package billing

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Statement is one tenant's bill for one month: what it used, priced as it
// was charged, and what changed its balance. Every amount is micro-dollars.
type Statement struct {
	ClientID   uuid.UUID
	ClientName string
	Month      Month
	// Lines group the month's usage records by service, mode and the unit
	// price charged, so a price change mid-month shows as two lines.
	Lines []LineItem
	// Adjustments are the ledger's money entries of the month: credits,
	// top-ups, refunds, and switches between prepaid and postpaid.
	Adjustments []Adjustment
	// OpeningBalance and ClosingBalance are a prepaid tenant's balance at the
	// month's start and end; nil while the tenant was postpaid.
	OpeningBalance *tryon.Micros
	ClosingBalance *tryon.Micros

	Generations   int64        // billed generations of the month
	UsageMicros   tryon.Micros // their total: what a postpaid tenant owes
	CreditsMicros tryon.Micros // the adjustments' total
}

// LineItem is the month's billed generations of one service and mode at one
// unit price.
type LineItem struct {
	Service         tryon.Service
	Mode            tryon.Mode
	UnitPriceMicros tryon.Micros
	Count           int64
	AmountMicros    tryon.Micros
}

// Adjustment is one ledger entry that moved money.
type Adjustment struct {
	At           time.Time
	Kind         string
	AmountMicros tryon.Micros
	BalanceAfter *tryon.Micros
	Reason       string
	Details      json.RawMessage
}

// BillableGeneration is one billed generation, a row of the CSV export.
type BillableGeneration struct {
	GenerationID uuid.UUID
	CreatedAt    time.Time
	BilledAt     time.Time
	Service      tryon.Service
	Mode         tryon.Mode
	Provider     string
	Model        string
	AmountMicros tryon.Micros
}

// StatementStore reads what statements are made of.
type StatementStore interface {
	// ReadStatement fills a statement's client, lines, adjustments and
	// balances for [from, to), all from one snapshot of the database.
	ReadStatement(ctx context.Context, clientID uuid.UUID, from, to time.Time) (*Statement, error)
	// EachBillableGeneration calls fn for every usage record of [from, to),
	// oldest first.
	EachBillableGeneration(ctx context.Context, clientID uuid.UUID, from, to time.Time, fn func(BillableGeneration) error) error
}

// Statements makes statements.
type Statements struct {
	Store StatementStore
}

// Statement returns a tenant's statement for a month, with its totals. A
// month in the future is refused; the current month is the statement so far.
func (s *Statements) Statement(ctx context.Context, clientID uuid.UUID, m Month) (*Statement, error) {
	if m.Start().After(time.Now()) {
		return nil, tryon.Invalid(tryon.FieldError{Field: "month", Message: "must not be in the future"})
	}
	st, err := s.Store.ReadStatement(ctx, clientID, m.Start(), m.End())
	if err != nil {
		return nil, err
	}
	st.Month = m
	st.total()
	return st, nil
}

func (st *Statement) total() {
	st.Generations, st.UsageMicros, st.CreditsMicros = 0, 0, 0
	for i := range st.Lines {
		l := &st.Lines[i]
		l.AmountMicros = l.UnitPriceMicros * tryon.Micros(l.Count)
		st.Generations += l.Count
		st.UsageMicros += l.AmountMicros
	}
	for _, a := range st.Adjustments {
		st.CreditsMicros += a.AmountMicros
	}
}
