package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
)

// BenchmarkReadMetrics measures one metrics read (one round trip) on
// 50,000 generations over a year, ten tenants, the first with a tenth of
// them. `tryon bench metrics` measures the same through HTTP up to ten
// million.
func BenchmarkReadMetrics(b *testing.B) {
	s, tenants, now := seeded(b, 50_000)
	ctx := context.Background()
	for _, bc := range []struct {
		name   string
		client uuid.UUID
		query  string
	}{
		{"Tenant30DaysByDay", tenants[0].ClientID, ""},
		{"Tenant7DaysByHour", tenants[0].ClientID, "bucket=hour&from=" + now.AddDate(0, 0, -6).Format(time.DateOnly)},
		{"Platform30DaysByDay", uuid.Nil, ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w := window(b, bc.query, now)
			for b.Loop() {
				if _, err := s.ReadMetrics(ctx, tenants[0].Principal(), bc.client, w); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
