package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/metrics"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/wire"
)

// handleMetrics serves GET /metrics: a tenant key reads its own metrics, an
// admin key the platform view.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	s.serveMetrics(w, r, stateOf(r).principal.ClientID())
}

// handleClientMetrics serves GET /metrics/client/{id}: an admin key reads
// any tenant, a tenant key only itself. Any other id, malformed ones
// included, is not found, so a tenant learns nothing about who else exists.
func (s *Server) handleClientMetrics(w http.ResponseWriter, r *http.Request) {
	st := stateOf(r)
	id, err := uuid.Parse(st.route.param(r, "id"))
	if err != nil || id == uuid.Nil || (!st.principal.IsAdmin() && id != st.principal.ClientID()) {
		s.writeError(w, r, tryon.ErrNotFound, nil)
		return
	}
	s.serveMetrics(w, r, id)
}

// serveMetrics answers with one tenant's metrics, or the platform's for
// uuid.Nil.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, clientID uuid.UUID) {
	st := stateOf(r)
	win, err := metrics.ParseWindow(r.URL.Query(), time.Now())
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	// As for every read, a client hanging up does not cancel it: the
	// request still counts against the key's rate limit.
	read, err := s.store.ReadMetrics(context.WithoutCancel(r.Context()), st.principal, clientID, win)
	if read != nil {
		st.rate = &read.Rate
	}
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	snap, base := read.Value, s.baseURL(r)
	if snap.Client == nil {
		s.writeData(w, r, http.StatusOK, s.withStripeMeter(r, platformMetricsOf(snap, base)))
		return
	}
	s.writeData(w, r, http.StatusOK, clientMetricsOf(snap, base))
}

// The JSON of GET /metrics (docs/API.md). A tenant's metrics and the platform
// view share the window, the totals, by_service, series and recent; a
// tenant's add its credits and limits, the platform's every tenant.

type metricsCommon struct {
	From      string                          `json:"from"`
	To        string                          `json:"to"`
	Bucket    metrics.Bucket                  `json:"bucket"`
	Totals    metricsTotals                   `json:"totals"`
	Test      metricsTotals                   `json:"test"`
	ByService map[tryon.Service]serviceCounts `json:"by_service"`
	Series    []seriesPoint                   `json:"series"`
	Recent    []wire.Generation               `json:"recent"`
}

type clientMetrics struct {
	ClientID string `json:"client_id"`
	metricsCommon
	// Credits is null for a postpaid tenant.
	Credits *credits     `json:"credits"`
	Limits  clientLimits `json:"limits"`
}

type platformMetrics struct {
	metricsCommon
	ByClient []clientCounts `json:"by_client"`
}

type metricsTotals struct {
	Generations int64          `json:"generations"`
	Succeeded   int64          `json:"succeeded"`
	Failed      int64          `json:"failed"`
	Processing  int64          `json:"processing"`
	CostMicros  tryon.Micros   `json:"cost_micros"`
	Cost        float64        `json:"cost"`
	Currency    string         `json:"currency"`
	LatencyMS   latencyFigures `json:"latency_ms"`
}

// latencyFigures are null when there is nothing to measure.
type latencyFigures struct {
	Avg *int64 `json:"avg"`
	P50 *int64 `json:"p50"`
	P95 *int64 `json:"p95"`
}

type serviceCounts struct {
	Generations int64        `json:"generations"`
	Succeeded   int64        `json:"succeeded"`
	Failed      int64        `json:"failed"`
	CostMicros  tryon.Micros `json:"cost_micros"`
}

type seriesPoint struct {
	Start       string       `json:"start"`
	Generations int64        `json:"generations"`
	Succeeded   int64        `json:"succeeded"`
	Failed      int64        `json:"failed"`
	CostMicros  tryon.Micros `json:"cost_micros"`
}

type credits struct {
	BalanceMicros  tryon.Micros `json:"balance_micros"`
	ReservedMicros tryon.Micros `json:"reserved_micros"`
}

type clientLimits struct {
	RequestsPerMinute int `json:"requests_per_minute"`
	MaxConcurrent     int `json:"max_concurrent"`
}

type clientCounts struct {
	ClientID    string             `json:"client_id"`
	Name        string             `json:"name"`
	Status      tryon.ClientStatus `json:"status"`
	Generations int64              `json:"generations"`
	Succeeded   int64              `json:"succeeded"`
	Failed      int64              `json:"failed"`
	CostMicros  tryon.Micros       `json:"cost_micros"`
}

func clientMetricsOf(snap *metrics.Snapshot, base string) clientMetrics {
	c := snap.Client
	out := clientMetrics{
		ClientID: c.ID.String(), metricsCommon: metricsCommonOf(snap, base),
		Limits: clientLimits{RequestsPerMinute: c.RequestsPerMinute, MaxConcurrent: c.MaxConcurrent},
	}
	if c.BalanceMicros != nil {
		out.Credits = &credits{BalanceMicros: *c.BalanceMicros, ReservedMicros: c.ReservedMicros}
	}
	return out
}

func platformMetricsOf(snap *metrics.Snapshot, base string) platformMetrics {
	out := platformMetrics{metricsCommon: metricsCommonOf(snap, base), ByClient: make([]clientCounts, 0, len(snap.Clients))}
	for _, c := range snap.Clients {
		out.ByClient = append(out.ByClient, clientCounts{ClientID: c.ID.String(), Name: c.Name, Status: c.Status,
			Generations: c.Generations, Succeeded: c.Succeeded, Failed: c.Failed, CostMicros: c.CostMicros})
	}
	return out
}

func metricsCommonOf(snap *metrics.Snapshot, base string) metricsCommon {
	out := metricsCommon{
		From: wire.Time(snap.Window.From), To: wire.Time(snap.Window.To), Bucket: snap.Window.Bucket,
		Totals: totalsOf(snap.Live, snap.LiveLatency), Test: totalsOf(snap.Test, snap.TestLatency),
		ByService: make(map[tryon.Service]serviceCounts, len(snap.ByService)),
		Series:    make([]seriesPoint, 0, len(snap.Series)),
		Recent:    make([]wire.Generation, 0, len(snap.Recent)),
	}
	for svc, c := range snap.ByService {
		out.ByService[svc] = serviceCounts{Generations: c.Generations, Succeeded: c.Succeeded, Failed: c.Failed, CostMicros: c.CostMicros}
	}
	for _, p := range snap.Series {
		out.Series = append(out.Series, seriesPoint{Start: wire.Time(p.Start), Generations: p.Generations,
			Succeeded: p.Succeeded, Failed: p.Failed, CostMicros: p.CostMicros})
	}
	for _, g := range snap.Recent {
		out.Recent = append(out.Recent, wire.FromGeneration(g, base))
	}
	return out
}

func totalsOf(c metrics.Counts, h metrics.Histogram) metricsTotals {
	t := metricsTotals{Generations: c.Generations, Succeeded: c.Succeeded, Failed: c.Failed, Processing: c.Processing,
		CostMicros: c.CostMicros, Cost: c.CostMicros.Dollars(), Currency: tryon.Currency}
	if avg, ok := c.AvgLatencyMS(); ok {
		t.LatencyMS.Avg = &avg
	}
	for _, f := range []struct {
		p   int
		out **int64
	}{{50, &t.LatencyMS.P50}, {95, &t.LatencyMS.P95}} {
		if v, ok := h.Percentile(f.p); ok {
			*f.out = &v
		}
	}
	return t
}
