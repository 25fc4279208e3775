package fal

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// insecureTestFetcher is a TEST DOUBLE for the SSRF-guarded tryon.Fetcher. It
// exists only because the real guard refuses loopback addresses, which is
// where falfake listens. It does a plain GET (or decodes a data: URI) and
// sniffs the bytes; it checks nothing about where the URL points and must
// never be used outside tests.
type insecureTestFetcher struct {
	client *http.Client
}

func (f insecureTestFetcher) FetchImage(ctx context.Context, rawURL string) (*tryon.Image, error) {
	var data []byte
	if rest, ok := strings.CutPrefix(rawURL, "data:"); ok {
		meta, payload, ok := strings.Cut(rest, ",")
		if !ok || !strings.HasSuffix(meta, ";base64") {
			return nil, errors.New("unsupported data URI")
		}
		b, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			return nil, fmt.Errorf("decode data URI: %w", err)
		}
		data = b
	} else {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return nil, err
		}
		resp, err := f.client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET: HTTP %d", resp.StatusCode)
		}
		if data, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20)); err != nil {
			return nil, err
		}
	}
	info, ok := media.Sniff(data)
	if !ok || !info.IsImage() {
		return nil, errors.New("not a PNG, JPEG or WebP image")
	}
	return &tryon.Image{Bytes: data, ContentType: info.ContentType, Width: info.Width, Height: info.Height}, nil
}
