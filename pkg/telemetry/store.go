package telemetry

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/generation"
	"github.com/tryonhq/tryon/pkg/tryon"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Store wraps s so that the steps of a generation that move money are spans
// (admission, with its precheck, and settlement), each holding the database
// round trips it makes, and feed the generation and credit metrics. The
// other calls pass straight through. Off, it returns s itself.
func (t *Telemetry) Store(s generation.Store) generation.Store {
	if t == nil || s == nil {
		return s
	}
	return tracedStore{Store: s, t: t}
}

type tracedStore struct {
	generation.Store
	t *Telemetry
}

func (s tracedStore) PrecheckAdmission(ctx context.Context, caller *tryon.Principal, idemKey *string, hash []byte) (*tryon.Precheck, error) {
	ctx, span := s.t.tracer.Start(ctx, "admission.precheck")
	pre, err := s.Store.PrecheckAdmission(ctx, caller, idemKey, hash)
	end(span, err)
	return pre, err
}

func (s tracedStore) Admit(ctx context.Context, a tryon.Admission) (*tryon.AdmitResult, error) {
	attrs := []attribute.KeyValue{attribute.String("tryon.service", string(a.Service)), attribute.String("tryon.mode", string(a.Mode))}
	ctx, span := s.t.tracer.Start(ctx, "admission")
	span.SetAttributes(attrs...)
	r, err := s.Store.Admit(ctx, a)
	if r != nil {
		span.SetAttributes(attribute.String("tryon.outcome", string(r.Outcome)), attribute.Int64("tryon.price_micros", int64(r.PriceMicros)))
		if r.Outcome == tryon.Admitted && r.PriceMicros > 0 {
			s.t.m.creditsReserved.Add(ctx, int64(r.PriceMicros), metric.WithAttributes(attrs...))
		}
	}
	end(span, err)
	return r, err
}

func (s tracedStore) FinishGeneration(ctx context.Context, id uuid.UUID, c tryon.Completion, webhookLease time.Duration) (*tryon.FinishResult, error) {
	ctx, span := s.t.tracer.Start(ctx, "settlement")
	span.SetAttributes(attribute.String("tryon.generation.id", id.String()))
	f, err := s.Store.FinishGeneration(ctx, id, c, webhookLease)
	if f != nil && f.Generation != nil {
		g := f.Generation
		attrs := []attribute.KeyValue{attribute.String("tryon.service", string(g.Service)),
			attribute.String("tryon.mode", string(g.Mode)), attribute.String("tryon.outcome", string(g.Status))}
		if g.Error != nil {
			attrs = append(attrs, attribute.String("error.type", string(g.Error.Code)))
		}
		span.SetAttributes(append(attrs, attribute.Bool("tryon.settlement.finished", f.Finished))...)
		// Counted once, by the call that finalised it: a reader that
		// arrives second finds it already finished.
		if f.Finished && g.Status != tryon.StatusProcessing {
			s.t.m.generations.Add(ctx, 1, metric.WithAttributes(attrs...))
		}
	}
	end(span, err)
	return f, err
}
