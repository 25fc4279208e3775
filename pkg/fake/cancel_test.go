package fake

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

func TestCancelVideoOperation(t *testing.T) {
	p := New(Options{VideoLatency: time.Hour})
	ctx := context.Background()
	op, err := p.Start(ctx, videoRequest("a walk"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := p.Start(ctx, videoRequest("another walk"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Canceled(op) {
		t.Fatal("canceled before Cancel")
	}
	for range 2 { // twice: no error either time
		if err := p.Cancel(ctx, op); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
	}
	if !p.Canceled(op) || p.Canceled(other) {
		t.Fatalf("Canceled: %v %v, want only the canceled operation", p.Canceled(op), p.Canceled(other))
	}
	_, err = p.Poll(ctx, op)
	var pe *tryon.ProviderError
	if !errors.As(err, &pe) || !pe.Final || pe.Retryable() || pe.Provider != "fake" {
		t.Fatalf("poll after cancel: %v, want a final failure", err)
	}
	if res, err := p.Poll(ctx, other); res != nil || err != nil {
		t.Fatalf("the other operation: %v %v, want still running", res, err)
	}
	if err := p.Cancel(ctx, "operations/not-the-fakes"); !errors.As(err, &pe) || pe.Kind != tryon.FailInvalidRequest {
		t.Fatalf("a foreign name: %v, want invalid_request", err)
	}
}
