package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

var errBusy = errors.New("busy")

func TestBackoffFollowsTheScheduleWithJitter(t *testing.T) {
	p := Policy{Waits: []time.Duration{time.Second, 4 * time.Second}}
	for attempt, step := range map[int]time.Duration{1: time.Second, 2: 4 * time.Second, 7: 4 * time.Second} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := p.Backoff(attempt)
			if d < step || d >= step+step/4 {
				t.Fatalf("Backoff(%d) = %s, want in [%s, %s)", attempt, d, step, step+step/4)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("Backoff(%d) took %d values in 200 draws: no jitter", attempt, len(seen))
		}
	}
	if d := p.Backoff(0); d != 0 {
		t.Errorf("Backoff(0) = %s, want 0", d)
	}
}

func TestNext(t *testing.T) {
	p := Policy{Waits: []time.Duration{time.Second, time.Second}, MaxRetryAfter: 20 * time.Second}
	cases := []struct {
		name       string
		attempt    int
		retryAfter time.Duration
		wantMin    time.Duration
		wantOK     bool
	}{
		{"Backoff", 1, 0, time.Second, true},
		{"RetryAfterLongerWins", 1, 10 * time.Second, 10 * time.Second, true},
		{"RetryAfterShorterLoses", 2, time.Millisecond, time.Second, true},
		{"AttemptsUsedUp", 3, 0, 0, false},
		{"RetryAfterTooLong", 1, 21 * time.Second, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wait, ok := p.Next(tc.attempt, tc.retryAfter)
			if ok != tc.wantOK || wait < tc.wantMin || (ok && wait > max(tc.wantMin*5/4, tc.retryAfter)) {
				t.Fatalf("Next(%d, %s) = %s, %v; want %v from %s", tc.attempt, tc.retryAfter, wait, ok, tc.wantOK, tc.wantMin)
			}
		})
	}
	if _, ok := (Policy{Waits: []time.Duration{time.Second}}).Next(1, 1000*time.Hour); !ok {
		t.Error("no MaxRetryAfter: any Retry-After should be waited for")
	}
}

func TestRoom(t *testing.T) {
	p := Policy{MinAttempt: 5 * time.Second}
	if !p.Room(context.Background(), time.Hour) {
		t.Error("no deadline: want room")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if !p.Room(ctx, time.Second) {
		t.Error("a minute left, 1s wait + 5s attempt: want room")
	}
	if p.Room(ctx, 56*time.Second) {
		t.Error("a minute left, 56s wait + 5s attempt: want no room")
	}
}

// recorder is a Policy.Sleep that records the waits instead of waiting.
func recorder(waits *[]time.Duration) func(context.Context, time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		*waits = append(*waits, d)
		return ctx.Err()
	}
}

func TestDo(t *testing.T) {
	retryable := func(after time.Duration) func(error) Verdict {
		return func(error) Verdict { return Verdict{Retry: true, After: after} }
	}
	t.Run("SucceedsAfterFailures", func(t *testing.T) {
		var waits []time.Duration
		p := Policy{Waits: []time.Duration{time.Second, 2 * time.Second}, Sleep: recorder(&waits)}
		calls, retries := 0, 0
		got, err := Do(context.Background(), p, func(context.Context) (int, error) {
			calls++
			if calls < 3 {
				return 0, errBusy
			}
			return 42, nil
		}, retryable(0), func(err error, attempt int, wait time.Duration) { retries++ })
		if got != 42 || err != nil || calls != 3 || retries != 2 || len(waits) != 2 || waits[1] < 2*time.Second {
			t.Fatalf("got %d, %v after %d calls, %d retries, waits %v", got, err, calls, retries, waits)
		}
	})
	t.Run("StopsAtTheLastAttempt", func(t *testing.T) {
		var waits []time.Duration
		calls := 0
		_, err := Do(context.Background(), Policy{Waits: []time.Duration{time.Millisecond}, Sleep: recorder(&waits)},
			func(context.Context) (int, error) { calls++; return 0, errBusy }, retryable(0), nil)
		if !errors.Is(err, errBusy) || calls != 2 {
			t.Fatalf("got %v after %d calls, want errBusy after 2", err, calls)
		}
	})
	t.Run("FinalErrorIsNotRetried", func(t *testing.T) {
		calls := 0
		_, err := Do(context.Background(), Policy{Waits: []time.Duration{time.Millisecond}},
			func(context.Context) (int, error) { calls++; return 0, errBusy },
			func(error) Verdict { return Verdict{} }, nil)
		if !errors.Is(err, errBusy) || calls != 1 {
			t.Fatalf("got %v after %d calls, want one call", err, calls)
		}
	})
	t.Run("HonoursRetryAfter", func(t *testing.T) {
		var waits []time.Duration
		p := Policy{Waits: []time.Duration{time.Millisecond}, MaxRetryAfter: 20 * time.Second, Sleep: recorder(&waits)}
		calls := 0
		_, _ = Do(context.Background(), p, func(context.Context) (int, error) { calls++; return 0, errBusy }, retryable(7*time.Second), nil)
		if calls != 2 || len(waits) != 1 || waits[0] != 7*time.Second {
			t.Fatalf("%d calls, waits %v; want the 7s the server asked for", calls, waits)
		}
		calls = 0
		_, _ = Do(context.Background(), p, func(context.Context) (int, error) { calls++; return 0, errBusy }, retryable(time.Minute), nil)
		if calls != 1 {
			t.Fatalf("%d calls: a minute's Retry-After over MaxRetryAfter must end the retries", calls)
		}
	})
	t.Run("NeverWaitsPastTheDeadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		var waits []time.Duration
		p := Policy{Waits: []time.Duration{2 * time.Second}, MinAttempt: 2 * time.Second, Sleep: recorder(&waits)}
		calls := 0
		_, err := Do(ctx, p, func(context.Context) (int, error) { calls++; return 0, errBusy }, retryable(0), nil)
		if !errors.Is(err, errBusy) || calls != 1 || len(waits) != 0 {
			t.Fatalf("got %v after %d calls, waits %v; want one call and no wait", err, calls, waits)
		}
	})
	t.Run("AWaitCutByTheContextEndsTheRetries", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		_, err := Do(ctx, Policy{Waits: []time.Duration{time.Hour}},
			func(context.Context) (int, error) { calls++; return 0, errBusy }, retryable(0),
			func(error, int, time.Duration) { cancel() })
		if !errors.Is(err, errBusy) || calls != 1 {
			t.Fatalf("got %v after %d calls", err, calls)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"99999999999999", 7 * 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http1123), 90 * time.Second},
		{now.Add(-time.Hour).Format(http1123), 0},
	} {
		if got := ParseRetryAfter(tc.header, now); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %s, want %s", tc.header, got, tc.want)
		}
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "1", "Wed, 21 Oct 2015 07:28:00 GMT", "9223372036854775807"} {
		f.Add(s)
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, v string) {
		if d := ParseRetryAfter(v, now); d < 0 || d > maxRetryAfter {
			t.Fatalf("ParseRetryAfter(%q) = %s", v, d)
		}
	})
}
