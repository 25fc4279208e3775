// Package billing is what an operator invoices with: monthly statements and
// their CSV export, the Stripe Billing meter events that mirror every charge,
// and prepaid top-ups paid through Stripe Checkout. It holds the policy and
// declares the store and the Stripe client it needs; pkg/postgres and
// pkg/stripeapi implement them.
package billing

import (
	"fmt"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// Month is a calendar month in UTC: statements start at its first instant,
// 00:00:00 UTC on the 1st, and end just before the next month's.
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth reads "YYYY-MM".
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != 7 {
		return Month{}, tryon.Invalid(tryon.FieldError{Field: "month", Message: "must be a month as YYYY-MM, e.g. 2026-11"})
	}
	return Month{Year: t.Year(), Month: t.Month()}, nil
}

// MonthOf returns the UTC month t falls in.
func MonthOf(t time.Time) Month {
	t = t.UTC()
	return Month{Year: t.Year(), Month: t.Month()}
}

// Start is the month's first instant.
func (m Month) Start() time.Time { return time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, time.UTC) }

// End is the next month's first instant: the month is [Start, End).
func (m Month) End() time.Time { return m.Start().AddDate(0, 1, 0) }

// String formats the month as "YYYY-MM".
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }
