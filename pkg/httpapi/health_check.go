package httpapi

import (
	"context"
	"errors"
	"sync"
	"time"
)

// HealthReuse is how long a successful database check answers GET /health
// without asking the database again. A failure is never reused: only the
// callers waiting on the very check that failed share it, so a database
// that stops answering shows within this interval (plus the ping's own
// timeout).
const HealthReuse = time.Second

// healthPingTimeout bounds one database check.
const healthPingTimeout = 2 * time.Second

// dbCheck makes GET /health cheap under load without lying: at most one
// ping is in flight per instance, concurrent callers share its result, and
// a success is reused for HealthReuse. Under a load of health checks the
// database sees at most one ping per interval from an instance, instead of
// one per request.
type dbCheck struct {
	ping  func(ctx context.Context, timeout time.Duration) error
	reuse time.Duration
	now   func() time.Time

	mu       sync.Mutex
	okUntil  time.Time
	inFlight *pingCall
}

// pingCall is one ping that several callers wait on.
type pingCall struct {
	done chan struct{}
	err  error
}

func newDBCheck(ping func(ctx context.Context, timeout time.Duration) error) *dbCheck {
	return &dbCheck{ping: ping, reuse: HealthReuse, now: time.Now}
}

// check reports whether the database answers, from a recent success, the
// ping in flight, or a new ping. The caller that starts a ping runs it with
// its own context's values (so its request counts the round trip) but not
// its cancellation: a caller that gives up does not fail the others.
func (c *dbCheck) check(ctx context.Context) error {
	c.mu.Lock()
	if c.now().Before(c.okUntil) {
		c.mu.Unlock()
		return nil
	}
	call := c.inFlight
	if call == nil {
		call = &pingCall{done: make(chan struct{})}
		c.inFlight = call
		c.mu.Unlock()
		c.run(ctx, call)
		return call.err
	}
	c.mu.Unlock()
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run pings for call and publishes its result, even if the ping panics.
func (c *dbCheck) run(ctx context.Context, call *pingCall) {
	// The interval starts when the ping is sent, so a reused success is
	// never older than c.reuse.
	sent := c.now()
	call.err = errPingUnfinished
	defer func() {
		c.mu.Lock()
		c.inFlight = nil
		if call.err == nil {
			c.okUntil = sent.Add(c.reuse)
		}
		c.mu.Unlock()
		close(call.done)
	}()
	call.err = c.ping(context.WithoutCancel(ctx), healthPingTimeout)
}

// errPingUnfinished is what the waiters of a ping that panicked see.
var errPingUnfinished = errors.New("database check did not finish")
