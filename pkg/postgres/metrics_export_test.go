package postgres

import (
	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/metrics"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// MetricsQuery is one query of a metrics read, for the plan test.
type MetricsQuery struct {
	Name string
	SQL  string
	Args []any
}

// MetricsQueries exposes the queries ReadMetrics sends, so that a test can
// EXPLAIN exactly them.
func MetricsQueries(caller *tryon.Principal, clientID uuid.UUID, w metrics.Window) []MetricsQuery {
	var out []MetricsQuery
	for _, st := range metricsStatements(caller, clientID, w) {
		out = append(out, MetricsQuery{Name: st.name, SQL: st.sql, Args: st.args})
	}
	return out
}

// Principal is the seeded tenant's key as an authenticated caller, with a
// rate limit no test reaches.
func (t SeedTenant) Principal() *tryon.Principal {
	return &tryon.Principal{Key: tryon.APIKey{ID: t.KeyID, Kind: tryon.KeyLive},
		Client: &tryon.Client{ID: t.ClientID, RequestsPerMinute: 1_000_000}}
}
