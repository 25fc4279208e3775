package generation

import (
	"context"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// discardUnrecorded deletes the outputs that were uploaded for a success the
// finish did not record: the generation was canceled while the provider
// worked (or the output was being stored), or it passed its deadline (the
// deadline wins). Nothing points at that output, and it is a photo of a
// real person, so it is not left in storage. Outputs staged in the
// database need nothing: they are written only with a recorded success.
// A storage that cannot delete, or a delete that fails, is logged.
func (r *Runner) discardUnrecorded(ctx context.Context, c tryon.Completion, final *tryon.Generation) {
	first := c.Output()
	if !c.Succeeded || first == nil || len(c.Staged) > 0 || final == nil {
		return
	}
	if final.Output != nil && final.Output.URL == first.URL {
		return
	}
	remover, ok := r.Storage.(tryon.Remover)
	if !ok {
		r.Log.Warn("an output its generation ended without stays in storage: the storage cannot delete",
			"generation", final.ID, "status", final.Status)
		return
	}
	urls := make([]string, len(c.Outputs))
	for i, o := range c.Outputs {
		urls[i] = o.URL
	}
	if err := remover.Delete(ctx, urls); err != nil {
		r.Log.Warn("delete the outputs its generation ended without", "generation", final.ID, "status", final.Status, "outputs", len(urls), "error", err)
		return
	}
	r.Log.Info("deleted the outputs its generation ended without", "generation", final.ID, "status", final.Status, "outputs", len(urls))
}
