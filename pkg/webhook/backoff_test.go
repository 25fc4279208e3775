package webhook

import (
	"errors"
	"testing"
	"time"
)

func TestRetryFollowsTheSpecificationsSchedule(t *testing.T) {
	// The Standard Webhooks example schedule (spec "Deliverability and
	// reliability"): the wait after each failed attempt.
	want := []time.Duration{
		5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
		10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour,
	}
	if got := Retry.Attempts(); got != MaxAttempts || len(want)+1 != MaxAttempts {
		t.Errorf("attempts = %d, want %d", got, MaxAttempts)
	}
	var total time.Duration
	for i, d := range want {
		attempt := i + 1
		for range 50 {
			got, ok := NextAttempt(attempt, errors.New("connection refused"))
			if !ok || got < d || got >= d+d/4 {
				t.Fatalf("NextAttempt(%d) = %s, %v; want in [%s, %s)", attempt, got, ok, d, d+d/4)
			}
		}
		total += Retry.Waits[i]
	}
	// The spec's table ends its last retry 75:35:05 after the first attempt.
	if want := 75*time.Hour + 35*time.Minute + 5*time.Second; total != want {
		t.Errorf("schedule spans %s, want %s", total, want)
	}
	if _, ok := NextAttempt(MaxAttempts, errors.New("connection refused")); ok {
		t.Errorf("attempt %d was retried: it is the last", MaxAttempts)
	}
}

func TestNextAttemptHonoursTheReceiver(t *testing.T) {
	if wait, ok := NextAttempt(1, &DeliveryError{Status: 503, RetryAfter: time.Hour}); !ok || wait != time.Hour {
		t.Errorf("Retry-After 1h: got %s, %v; want 1h", wait, ok)
	}
	if wait, ok := NextAttempt(1, &DeliveryError{Status: 500}); !ok || wait < 5*time.Second {
		t.Errorf("500: got %s, %v; want the schedule's 5s", wait, ok)
	}
	if _, ok := NextAttempt(1, &DeliveryError{Status: 410}); ok {
		t.Error("410 Gone was retried: it is final")
	}
}
