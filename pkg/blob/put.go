package blob

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tryonhq/tryon/pkg/retry"
)

// The upload protocol's constants (docs/PROVIDERS.md, "Vercel Blob").
const (
	// apiVersion is the version @vercel/blob 2.8.0 sends; the API shapes its
	// answers by it.
	apiVersion = "12"
	// cacheMaxAge lets the CDN and browsers keep a blob for a year: with a
	// random suffix in every URL, the bytes behind a URL never change.
	cacheMaxAge = "31536000"
	// maxPathnameLen is the official client's limit, so a long name fails
	// here rather than in the API.
	maxPathnameLen = 950
	// maxAnswerLen bounds what is read of any answer; a success is a few
	// hundred bytes of JSON.
	maxAnswerLen = 64 << 10
)

// defaultRetryPolicy: a few quick attempts, since the caller is usually a
// request with a deadline, not a background job. A rate limit asking for
// more than 20 s is not sat through: the caller hears "unavailable" at once.
var defaultRetryPolicy = retry.Policy{
	Waits:         []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second},
	MaxRetryAfter: 20 * time.Second,
}

// Put uploads data as prefix+name with a random suffix, so that URLs are
// unguessable even where names are not, and returns the blob's public URL.
// Busy answers (5xx, rate_limited) and failed connections are retried a few
// times with backoff while ctx allows. Failures are *tryon.Error values,
// unavailable when the API stayed busy or out of reach and internal
// otherwise, whose cause is an *APIError with the API's code and status when
// the API answered; a done ctx gives ctx's error, wrapped.
func (s *Store) Put(ctx context.Context, name, contentType string, data []byte) (string, error) {
	pathname := s.prefix + name
	if name == "" || len(pathname) > maxPathnameLen {
		return "", storeError(pathname, &permanentError{fmt.Sprintf("pathname must be 1 to %d bytes", maxPathnameLen)})
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("blob put %s: %w", pathname, err)
	}
	target := s.putURL + "?" + url.Values{"pathname": {pathname}}.Encode()
	blobURL, err := retry.Do(ctx, s.retry,
		func(ctx context.Context) (string, error) { return s.upload(ctx, target, contentType, data) },
		verdict, nil)
	switch {
	case err == nil:
		return blobURL, nil
	case ctx.Err() != nil:
		return "", fmt.Errorf("blob put %s: %w", pathname, ctx.Err())
	}
	return "", storeError(pathname, err)
}

// upload makes one attempt. Its errors are *APIError (the API refused),
// *permanentError (a success without a URL), or transport errors.
func (s *Store) upload(ctx context.Context, target, contentType string, data []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	h := req.Header
	h.Set("Authorization", "Bearer "+s.token)
	h.Set("X-Api-Version", apiVersion)
	h.Set("X-Vercel-Blob-Store-Id", s.storeID)
	h.Set("X-Vercel-Blob-Access", "public")
	h.Set("X-Add-Random-Suffix", "1")
	h.Set("X-Cache-Control-Max-Age", cacheMaxAge)
	if contentType != "" {
		h.Set("X-Content-Type", contentType)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerLen))
	if err != nil {
		return "", fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", s.apiError(resp, body)
	}
	var answer struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return "", &permanentError{"blob api: unreadable answer (HTTP " + strconv.Itoa(resp.StatusCode) + "): " + err.Error()}
	}
	u, err := url.Parse(answer.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", &permanentError{"blob api: no absolute URL in the answer"}
	}
	return answer.URL, nil
}
