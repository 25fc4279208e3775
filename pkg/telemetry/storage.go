package telemetry

import (
	"context"

	"github.com/tryonhq/tryon/pkg/tryon"
	"go.opentelemetry.io/otel/attribute"
)

// Storage wraps s so that each write is a span naming the backend, the
// content type and the size. Off, it returns s itself.
func (t *Telemetry) Storage(s tryon.Storage, backend string) tryon.Storage {
	if t == nil || s == nil {
		return s
	}
	return tracedStorage{t: t, next: s, backend: backend}
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
