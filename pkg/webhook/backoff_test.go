package webhook

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	// The Standard Webhooks example schedule (spec "Deliverability and
	// reliability"): the wait after each failed attempt.
	want := []time.Duration{
		5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
		10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour,
	}
	if got := len(want) + 1; got != MaxAttempts {
		t.Errorf("MaxAttempts = %d, want %d", MaxAttempts, got)
	}
	var total time.Duration
	for i, d := range want {
		attempt := i + 1
		for range 50 {
			if got := Backoff(attempt); got < d || got >= d+d/10 {
				t.Fatalf("Backoff(%d) = %s, want in [%s, %s)", attempt, got, d, d+d/10)
			}
		}
		total += schedule[i]
	}
	// The spec's table ends its last retry 75:35:05 after the first attempt.
	if want := 75*time.Hour + 35*time.Minute + 5*time.Second; total != want {
		t.Errorf("schedule spans %s, want %s", total, want)
	}
	for _, attempt := range []int{0, -1} {
		if got := Backoff(attempt); got != 0 {
			t.Errorf("Backoff(%d) = %s, want 0", attempt, got)
		}
	}
	for _, attempt := range []int{MaxAttempts, 1000} {
		if got := Backoff(attempt); got < 24*time.Hour || got >= 24*time.Hour+24*time.Hour/10 {
			t.Errorf("Backoff(%d) = %s, want the last step", attempt, got)
		}
	}
}
