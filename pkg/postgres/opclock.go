package postgres

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// A store call's time limit counts from the moment it holds a connection,
// not from when it asked for one. Under load every call queues for one of a
// few pooled connections; if the queue ate into the limit, a busy pool would
// read as a database that is down (503) and a paid provider result would be
// thrown away because storing it waited. The wait for a connection has its
// own, longer bound (acquireLimit); a dead database is still found quickly,
// because dialling a new connection has the connect timeout and a stalled
// statement has opTimeout.

// opClock is a store call's context: cancelled opTimeout after its first
// connection was acquired (see startOpClock), or acquireLimit after the
// call began, whichever is first.
type opClock struct {
	context.Context
	cancel  context.CancelFunc
	timeout time.Duration
	once    sync.Once
	timer   atomic.Pointer[time.Timer]
	expired atomic.Bool
}

type opClockKey struct{}

// Err reports a time limit as context.DeadlineExceeded, as a deadline would:
// that is what marks a stalled database as unavailable.
func (c *opClock) Err() error {
	if err := c.Context.Err(); err != nil {
		if c.expired.Load() {
			return context.DeadlineExceeded
		}
		return err
	}
	return nil
}

func (c *opClock) Value(key any) any {
	if key == (opClockKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// start begins the statement's time limit, once.
func (c *opClock) start() {
	c.once.Do(func() {
		c.timer.Store(time.AfterFunc(c.timeout, func() {
			c.expired.Store(true)
			c.cancel()
		}))
	})
}

func (c *opClock) stop() {
	if t := c.timer.Load(); t != nil {
		t.Stop()
	}
	c.cancel()
}

// newOpClock returns the context of one store call.
func newOpClock(parent context.Context, timeout, acquireLimit time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancelAcquire := context.WithTimeout(parent, acquireLimit)
	ctx, cancel := context.WithCancel(ctx)
	c := &opClock{Context: ctx, cancel: func() { cancel(); cancelAcquire() }, timeout: timeout}
	// Until a connection is acquired, the acquire limit's deadline reads as
	// DeadlineExceeded through the embedded context.
	return c, c.stop
}

// startOpClock is the pool's PrepareConn hook: it runs when a call has got
// its connection, and starts that call's time limit.
func startOpClock(ctx context.Context, _ *pgx.Conn) (bool, error) {
	if c, ok := ctx.Value(opClockKey{}).(*opClock); ok {
		c.start()
	}
	return true, nil
}
