package blob

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/tryonhq/tryon/pkg/tryon"
)

var _ tryon.Remover = (*Store)(nil)

// Remove deletes one blob by the URL Put returned, as the official client's
// del() does: POST {api}/delete with {"urls": [url]}. Deleting a blob that
// is not there is no error upstream either. One attempt: the caller (an
// output its generation ended without) logs a failure and moves on.
func (s *Store) Remove(ctx context.Context, blobURL string) error {
	body, err := json.Marshal(map[string][]string{"urls": {blobURL}})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.putURL+"delete", bytes.NewReader(body))
	if err != nil {
		return err
	}
	h := req.Header
	h.Set("Authorization", "Bearer "+s.token)
	h.Set("X-Api-Version", apiVersion)
	h.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("blob delete: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerLen))
	if err != nil {
		return fmt.Errorf("blob delete: read answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("blob delete: %w", s.apiError(resp, answer))
	}
	return nil
}
