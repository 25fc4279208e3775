package blob

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/tryonhq/tryon/pkg/retry"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// MaxDeleteBatch is the most URLs one delete request carries; Delete splits
// longer lists. The API documents no limit; a bounded body keeps one slow
// request from holding a whole sweep.
const MaxDeleteBatch = 100

// The generation runner deletes unrecorded outputs through it.
var _ tryon.Remover = (*Store)(nil)

// Delete removes blobs by their URLs, as @vercel/blob's del() does:
// POST {api}/delete with the JSON body {"urls": [...]} and the same
// authorization as an upload (docs/PROVIDERS.md, "Vercel Blob"). Deleting
// a blob that is already gone succeeds, so a delete may be sent again after
// a failure or a crash: callers record what is to be deleted before calling
// and forget it only after Delete returns nil. Once deleted, the blob's URL
// answers 404 from the store's host (the CDN may serve a cached copy until
// its cache expires). Busy answers and failed connections are retried as
// uploads are; errors are not *tryon.Error values, since no tenant hears
// of them.
func (s *Store) Delete(ctx context.Context, urls []string) error {
	for len(urls) > 0 {
		n := min(len(urls), MaxDeleteBatch)
		body, err := json.Marshal(struct {
			URLs []string `json:"urls"`
		}{urls[:n]})
		if err != nil {
			return err
		}
		_, err = retry.Do(ctx, s.retry,
			func(ctx context.Context) (struct{}, error) { return struct{}{}, s.deleteOnce(ctx, body) },
			verdict, nil)
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return fmt.Errorf("blob delete (%d urls): %w", n, err)
		}
		urls = urls[n:]
	}
	return nil
}

// deleteOnce makes one attempt. Its errors are *APIError (the API refused)
// or transport errors.
func (s *Store) deleteOnce(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.putURL+"delete", bytes.NewReader(body))
	if err != nil {
		return err
	}
	h := req.Header
	h.Set("Authorization", "Bearer "+s.token)
	h.Set("X-Api-Version", apiVersion)
	h.Set("X-Vercel-Blob-Store-Id", s.storeID)
	h.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerLen))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return s.apiError(resp, answer)
	}
	return nil
}
