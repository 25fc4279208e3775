package blob

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/tryonhq/tryon/pkg/retry"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// APIError is an upload the Blob API refused, as its
// {"error": {"code", "message"}} body describes it. It never holds the token.
type APIError struct {
	// Status is the HTTP status of the answer.
	Status int
	// Code is the API's error code ("forbidden", "store_not_found",
	// "file_too_large", "rate_limited"...), or "unknown_error" when the body
	// named none, as the official client does.
	Code string
	// Message is the API's own explanation, shortened and without control
	// characters, since it ends up in logs.
	Message string
	// RetryAfter is the wait the API asked for (rate_limited), or zero.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("blob api: %s (HTTP %d)", e.Code, e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

// Temporary reports whether the same upload may succeed if sent again soon:
// the API is busy or broken, not refusing this upload for good.
func (e *APIError) Temporary() bool {
	switch e.Code {
	case "rate_limited", "service_unavailable", "internal_server_error":
		return true
	}
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout
}

// permanentError is a failure that sending again cannot fix: a name the API
// would refuse, or a success whose body names no URL (the upload most likely
// happened, and the API will not answer differently the next time).
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

// Limits on what is kept of an error answer.
const (
	maxCodeLen    = 64
	maxMessageLen = 300
)

// apiError reads an error answer. The token is cut out of what is kept in
// case the API ever echoes the authorization back.
func (s *Store) apiError(resp *http.Response, body []byte) *APIError {
	e := &APIError{Status: resp.StatusCode, Code: "unknown_error"}
	var envelope struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &envelope) == nil {
		redact := strings.NewReplacer(s.token, "[token]")
		if c := sanitize(redact.Replace(envelope.Error.Code), maxCodeLen); c != "" {
			e.Code = c
		}
		e.Message = sanitize(redact.Replace(envelope.Error.Message), maxMessageLen)
	}
	e.RetryAfter = retry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return e
}

// sanitize drops control characters, which could forge log lines, and keeps
// at most n runes.
func sanitize(s string, n int) string {
	var b strings.Builder
	count := 0
	for _, r := range s {
		if unicode.IsControl(r) {
			r = ' '
		}
		if count == n {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		count++
	}
	return strings.TrimSpace(b.String())
}

// temporary reports whether err is worth retrying: a busy API or a failed
// connection, not a refusal or an unreadable answer.
func temporary(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Temporary()
	}
	var permanent *permanentError
	return !errors.As(err, &permanent)
}

// verdict decides whether a failed call is tried again, and after how
// long: temporary failures are, after the wait a rate limit asked for.
func verdict(err error) retry.Verdict {
	v := retry.Verdict{Retry: temporary(err)}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		v.After = apiErr.RetryAfter
	}
	return v
}

// storeError turns a failed upload into the domain's error. Tenants only
// learn that the output could not be stored; the cause, with the API's code
// and status, reaches the logs.
func storeError(pathname string, err error) error {
	e := &tryon.Error{
		Code:    tryon.CodeInternal,
		Message: "the output could not be stored",
		Cause:   fmt.Errorf("blob put %s: %w", sanitize(pathname, 120), err),
	}
	if temporary(err) {
		e.Code = tryon.CodeUnavailable
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			e.RetryAfter = apiErr.RetryAfter
		}
	}
	return e
}
