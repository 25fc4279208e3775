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
	traced := tracedStorage{t: t, next: s, backend: backend}
	if rm, ok := s.(tryon.Remover); ok {
		return tracedRemover{tracedStorage: traced, rm: rm}
	}
	return traced
}

// tracedRemover is a traced Storage that can also delete, so that wrapping
// keeps the runner's discard of outputs nobody recorded.
type tracedRemover struct {
	tracedStorage
	rm tryon.Remover
}

func (s tracedRemover) Remove(ctx context.Context, url string) error {
	ctx, span := s.t.tracer.Start(ctx, "storage.remove")
	span.SetAttributes(attribute.String("tryon.storage.backend", s.backend))
	err := s.rm.Remove(ctx, url)
	end(span, err)
	return err
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
