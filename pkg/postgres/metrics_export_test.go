package postgres

import (
	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/metrics"
)

// MetricsQuery is one query of a metrics read, for the plan test.
type MetricsQuery struct {
	Name string
	SQL  string
	Args []any
}

// MetricsQueries exposes the queries ReadMetrics sends, so that a test can
// EXPLAIN exactly them.
func MetricsQueries(keyID, clientID uuid.UUID, w metrics.Window) []MetricsQuery {
	var out []MetricsQuery
	for _, st := range metricsStatements(keyID, clientID, w) {
		out = append(out, MetricsQuery{Name: st.name, SQL: st.sql, Args: st.args})
	}
	return out
}
