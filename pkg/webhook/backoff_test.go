package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/safefetch"
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

// TestAGuardRefusalIsFinal sends through the production URL guard to a
// loopback receiver: the guard refuses the address, and a refusal is not
// retried, since the address will not change by itself.
func TestAGuardRefusalIsFinal(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer srv.Close()
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	s := &Sender{Client: safefetch.New(safefetch.Options{}).HTTPClient()}
	_, sendErr := s.Send(context.Background(), srv.URL+"/hook", secret, "msg_1", time.Now(), []byte(`{}`))
	if sendErr == nil || calls.Load() != 0 {
		t.Fatalf("Send = %v after %d calls; want the guard's refusal and none", sendErr, calls.Load())
	}
	if _, again := NextAttempt(1, sendErr); again {
		t.Fatalf("a refusal by the URL guard (%v) would be retried", sendErr)
	}
	if _, again := NextAttempt(1, errors.New("webhook: deliver to example.com: connection refused")); !again {
		t.Fatal("a refused connection must be retried")
	}
}
