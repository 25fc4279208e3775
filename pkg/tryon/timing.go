package tryon

import (
	"context"
	"sync/atomic"
	"time"
)

// Timings accumulates where a request spent its time, for the Server-Timing
// header and the benchmark's round-trip counts. Safe for concurrent use.
type Timings struct {
	dbNanos       atomic.Int64
	dbRoundTrips  atomic.Int64
	upstreamNanos atomic.Int64
	upstreamCalls atomic.Int64
}

type timingsKey struct{}

// WithTimings returns a context carrying a new Timings, and the Timings.
func WithTimings(ctx context.Context) (context.Context, *Timings) {
	t := &Timings{}
	return context.WithValue(ctx, timingsKey{}, t), t
}

// TimingsFrom returns the Timings carried by ctx, or nil.
func TimingsFrom(ctx context.Context) *Timings {
	t, _ := ctx.Value(timingsKey{}).(*Timings)
	return t
}

// AddDB records one database round trip that took d.
func (t *Timings) AddDB(d time.Duration) {
	if t == nil {
		return
	}
	t.dbNanos.Add(int64(d))
	t.dbRoundTrips.Add(1)
}

// AddUpstream records one provider call (or poll) that took d.
func (t *Timings) AddUpstream(d time.Duration) {
	if t == nil {
		return
	}
	t.upstreamNanos.Add(int64(d))
	t.upstreamCalls.Add(1)
}

// DB returns the time spent in the database and the number of round trips.
func (t *Timings) DB() (time.Duration, int) {
	if t == nil {
		return 0, 0
	}
	return time.Duration(t.dbNanos.Load()), int(t.dbRoundTrips.Load())
}

// Upstream returns the time spent waiting on providers and the number of calls.
func (t *Timings) Upstream() (time.Duration, int) {
	if t == nil {
		return 0, 0
	}
	return time.Duration(t.upstreamNanos.Load()), int(t.upstreamCalls.Load())
}
