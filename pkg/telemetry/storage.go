package telemetry

import (
	"context"

	"github.com/tryonhq/tryon/pkg/tryon"
	"go.opentelemetry.io/otel/attribute"
)

// Storage wraps s so that each write is a span naming the backend, the
// content type and the size. Off, it returns s itself. A storage that
// stages its outputs into the finishing transaction (tryon.Stager, the
// PostgreSQL one) stays a Stager when wrapped: hiding it would make every
// traced generation pay a round trip and a commit of its own for the
// output, so turning tracing on would change what it measures.
func (t *Telemetry) Storage(s tryon.Storage, backend string) tryon.Storage {
	if t == nil || s == nil {
		return s
	}
	traced := tracedStorage{t: t, next: s, backend: backend}
	if st, ok := s.(tryon.Stager); ok {
		return tracedStager{tracedStorage: traced, stager: st}
	}
	return traced
}

type tracedStorage struct {
	t       *Telemetry
	next    tryon.Storage
	backend string
}

func (s tracedStorage) Put(ctx context.Context, name, contentType string, data []byte) (string, error) {
	ctx, span := s.t.tracer.Start(ctx, "storage.put")
	span.SetAttributes(attribute.String("tryon.storage.backend", s.backend),
		attribute.String("tryon.storage.content_type", contentType), attribute.Int("tryon.storage.bytes", len(data)))
	url, err := s.next.Put(ctx, name, contentType, data)
	end(span, err)
	return url, err
}

// tracedStager is a traced storage whose writes are staged. Stage does no
// I/O and takes no context, so it gets no span of its own: the bytes travel
// with the settlement, whose span and round trip show them.
type tracedStager struct {
	tracedStorage
	stager tryon.Stager
}

func (s tracedStager) Stage(name, contentType string, data []byte) (string, *tryon.StagedOutput, error) {
	return s.stager.Stage(name, contentType, data)
}
