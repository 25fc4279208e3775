package telemetry

import (
	"context"

	"github.com/tryonhq/tryon/pkg/tryon"
	"go.opentelemetry.io/otel/attribute"
)

// Storage wraps s so that each write and delete is a span naming the
// backend (writes also the content type and the size). Off, it returns s
// itself. The wrapper keeps what s can do beyond Put: a storage that
// stages its outputs into the finishing transaction (tryon.Stager, the
// PostgreSQL one) stays a Stager, or turning tracing on would make every
// generation pay a round trip and a commit of its own for the output; one
// that deletes (tryon.Remover) stays a Remover, so that outputs nobody
// recorded are still discarded.
func (t *Telemetry) Storage(s tryon.Storage, backend string) tryon.Storage {
	if t == nil || s == nil {
		return s
	}
	traced := tracedStorage{t: t, next: s, backend: backend}
	if rm, ok := s.(tryon.Remover); ok {
		traced.rm = rm
	}
	st, stages := s.(tryon.Stager)
	switch {
	case stages && traced.rm != nil:
		return tracedStagerRemover{tracedStager{tracedStorage: traced, stager: st}}
	case stages:
		return tracedStager{tracedStorage: traced, stager: st}
	case traced.rm != nil:
		return tracedRemover{traced}
	}
	return traced
}

type tracedStorage struct {
	t       *Telemetry
	next    tryon.Storage
	rm      tryon.Remover // nil unless next deletes
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

// remove is Delete for the wrappers of a storage that deletes.
func (s tracedStorage) remove(ctx context.Context, urls []string) error {
	ctx, span := s.t.tracer.Start(ctx, "storage.remove")
	span.SetAttributes(attribute.String("tryon.storage.backend", s.backend), attribute.Int("tryon.storage.outputs", len(urls)))
	err := s.rm.Delete(ctx, urls)
	end(span, err)
	return err
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

// tracedRemover is a traced storage that deletes.
type tracedRemover struct{ tracedStorage }

func (s tracedRemover) Delete(ctx context.Context, urls []string) error { return s.remove(ctx, urls) }

// tracedStagerRemover is a traced storage that stages and deletes.
type tracedStagerRemover struct{ tracedStager }

func (s tracedStagerRemover) Delete(ctx context.Context, urls []string) error {
	return s.remove(ctx, urls)
}
