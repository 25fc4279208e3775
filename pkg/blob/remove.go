package blob

import (
	"context"

	"github.com/tryonhq/tryon/pkg/tryon"
)

var _ tryon.Remover = (*Store)(nil)

// Remove deletes one blob by the URL Put returned: Delete with one URL.
// The runner uses it for an output its generation ended without.
func (s *Store) Remove(ctx context.Context, blobURL string) error {
	return s.Delete(ctx, []string{blobURL})
}
