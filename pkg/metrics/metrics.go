// Package metrics is what GET /metrics reports: the window of a read and
// its validation, the counters, the zero-filled series and the latency
// histogram with its percentiles. It holds no I/O: the store fills a
// Snapshot from the rollups, and the HTTP layer renders it.
//
// The counters follow one rule everywhere (totals, by_service, series,
// by_client): Generations counts every generation created in the window,
// so Generations = Succeeded + Failed + Processing. Finished generations
// come from the rollups, which count them by their creation hour in the
// transaction that finishes them; Processing ones from the few rows still
// processing. Latency is measured on successes only.
package metrics

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Counts are the counters of a set of generations.
type Counts struct {
	Generations int64
	Succeeded   int64
	Failed      int64
	Processing  int64
	CostMicros  tryon.Micros
	// LatencyCount and LatencySumMS give the mean latency of successes.
	LatencyCount int64
	LatencySumMS int64
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Generations += o.Generations
	c.Succeeded += o.Succeeded
	c.Failed += o.Failed
	c.Processing += o.Processing
	c.CostMicros += o.CostMicros
	c.LatencyCount += o.LatencyCount
	c.LatencySumMS += o.LatencySumMS
}

// AvgLatencyMS is the mean latency of the successes, rounded to a whole
// millisecond; false when there were none.
func (c Counts) AvgLatencyMS() (int64, bool) {
	if c.LatencyCount == 0 {
		return 0, false
	}
	return (c.LatencySumMS + c.LatencyCount/2) / c.LatencyCount, true
}

// Point is one bucket of a series.
type Point struct {
	Start time.Time
	Counts
}

// ClientCounts are one tenant's live counters in the platform view.
type ClientCounts struct {
	ID     uuid.UUID
	Name   string
	Status tryon.ClientStatus
	Counts
}

// Snapshot is everything one metrics read reports, for one tenant or, when
// Client is nil, for the whole platform.
type Snapshot struct {
	Window Window
	// Client is the tenant with its current reservations; nil for the
	// platform view.
	Client *tryon.Client
	// Live and Test are the totals of each mode.
	Live, Test Counts
	// LiveLatency and TestLatency are each mode's latency histogram.
	LiveLatency, TestLatency Histogram
	// ByService holds every known service (zero when idle) and any other
	// service found in the rollups; live only.
	ByService map[tryon.Service]Counts
	// Series has one point per bucket of the window, zero-filled; live only.
	Series []Point
	// Clients holds every tenant in the platform view, the busiest (by
	// cost, then generations) first; live only.
	Clients []ClientCounts
	// Recent holds the newest generations in the window, both modes.
	Recent []*tryon.Generation
}

// NewSnapshot returns an empty snapshot of w: a zero series and every
// known service at zero.
func NewSnapshot(w Window) *Snapshot {
	s := &Snapshot{Window: w, ByService: map[tryon.Service]Counts{}, Series: make([]Point, w.Len())}
	for i := range s.Series {
		s.Series[i].Start = w.Start(i)
	}
	for _, svc := range tryon.Services {
		s.ByService[svc] = Counts{}
	}
	return s
}

// Totals returns the totals of a mode.
func (s *Snapshot) Totals(m tryon.Mode) *Counts {
	if m == tryon.ModeTest {
		return &s.Test
	}
	return &s.Live
}

// Latency returns the latency histogram of a mode.
func (s *Snapshot) Latency(m tryon.Mode) *Histogram {
	if m == tryon.ModeTest {
		return &s.TestLatency
	}
	return &s.LiveLatency
}

// AddService adds live counts to a service.
func (s *Snapshot) AddService(svc tryon.Service, c Counts) {
	sum := s.ByService[svc]
	sum.Add(c)
	s.ByService[svc] = sum
}

// AddPoint adds live counts to the bucket that starts at start. A start
// outside the window or off its buckets is a bug in the query that found it.
func (s *Snapshot) AddPoint(start time.Time, c Counts) error {
	i, ok := s.Window.Index(start)
	if !ok || !s.Window.Start(i).Equal(start) {
		return fmt.Errorf("metrics: bucket %s is not in the window [%s, %s) by %s",
			start.UTC().Format(time.RFC3339), s.Window.From.Format(time.RFC3339), s.Window.To.Format(time.RFC3339), s.Window.Bucket)
	}
	s.Series[i].Counts.Add(c)
	return nil
}
