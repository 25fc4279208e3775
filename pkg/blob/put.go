package blob

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The upload protocol's constants (PROVIDERS.md, "Vercel Blob").
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

// The retry policy: a few quick attempts, since the caller is usually a
// request with a deadline, not a background job.
const (
	maxAttempts  = 4
	firstBackoff = 250 * time.Millisecond
	// maxRetryAfter is the longest rate-limit wait worth sitting through;
	// beyond it the caller hears "unavailable" at once.
	maxRetryAfter = 20 * time.Second
)

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
	for attempt := 1; ; attempt++ {
		blobURL, err := s.upload(ctx, target, contentType, data)
		if err == nil {
			return blobURL, nil
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("blob put %s: %w", pathname, ctx.Err())
		}
		if !temporary(err) || attempt == maxAttempts {
			return "", storeError(pathname, err)
		}
		delay := backoff(attempt)
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
			if apiErr.RetryAfter > maxRetryAfter {
				return "", storeError(pathname, err)
			}
			delay = apiErr.RetryAfter
		}
		// Waiting past the caller's deadline would only turn a clear
		// "unavailable" into a vaguer timeout.
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= delay {
			return "", storeError(pathname, err)
		}
		if err := s.wait(ctx, delay); err != nil {
			return "", fmt.Errorf("blob put %s: %w", pathname, err)
		}
	}
}

// backoff is the wait after the attempt-th failure: doubling from
// firstBackoff, with half of it random so that instances failing together
// do not retry together.
func backoff(attempt int) time.Duration {
	d := firstBackoff << (attempt - 1)
	return d/2 + rand.N(d/2)
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
