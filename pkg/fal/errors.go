package fal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/retry"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Messages a tenant may see. fal's own words go to Detail, which only reaches
// the logs, because they can name our account state or echo other inputs.
const (
	msgInvalid     = "the image provider refused the request"
	msgAuth        = "the image provider rejected our credentials"
	msgQuota       = "the image provider account is out of credit"
	msgBlocked     = "the prompt or images were refused by the image provider's content policy"
	msgRateLimited = "the image provider is busy; try again shortly"
	msgUnavailable = "the image provider is unavailable; try again shortly"
	msgTimeout     = "the image provider did not answer in time"
	msgBadResponse = "the image provider sent an answer we could not read"
	msgNoOutput    = "the image provider returned no image"
)

// maxDetail bounds the fal message kept in ProviderError.Detail so a huge
// error body cannot flood the logs.
const maxDetail = 1000

// typeContentPolicy is the detail type fal uses for a refused prompt or image.
const typeContentPolicy = "content_policy_violation"

// errorBody is both of fal's error shapes: "detail" is a string for platform
// errors and a list of typed errors for model and validation errors.
type errorBody struct {
	Detail    json.RawMessage `json:"detail"`
	ErrorType string          `json:"error_type"`
}

// errorItem is one typed error. "input" and "ctx" are left out on purpose:
// fal echoes the offending value there, which for us is a whole data: URI.
type errorItem struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// parsedError is what an error body says, reduced to what classification needs.
type parsedError struct {
	detail  string // for the logs
	blocked bool   // a content-policy refusal
}

// parseErrorBody reads either error shape. Anything else (HTML from a proxy,
// an empty body) becomes its trimmed text, since it still helps whoever reads
// the logs.
func parseErrorBody(body []byte) parsedError {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil || len(eb.Detail) == 0 {
		return parsedError{detail: truncate(strings.TrimSpace(string(body)))}
	}
	var s string
	if json.Unmarshal(eb.Detail, &s) == nil {
		if eb.ErrorType != "" {
			s = eb.ErrorType + ": " + s
		}
		return parsedError{detail: truncate(s), blocked: mentionsContentPolicy(s)}
	}
	var items []errorItem
	if json.Unmarshal(eb.Detail, &items) != nil {
		return parsedError{detail: truncate(string(eb.Detail))}
	}
	var pe parsedError
	parts := make([]string, 0, len(items))
	for _, it := range items {
		if it.Type == typeContentPolicy || mentionsContentPolicy(it.Msg) {
			pe.blocked = true
		}
		parts = append(parts, describeItem(it))
	}
	pe.detail = truncate(strings.Join(parts, "; "))
	return pe
}

// describeItem renders one typed error as "body.prompt: msg (type)".
func describeItem(it errorItem) string {
	var b strings.Builder
	for i, l := range it.Loc {
		if i > 0 {
			b.WriteByte('.')
		}
		switch v := l.(type) {
		case string:
			b.WriteString(v)
		case float64:
			b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(it.Msg)
	if it.Type != "" {
		b.WriteString(" (" + it.Type + ")")
	}
	return b.String()
}

// mentionsContentPolicy spots a policy refusal worded rather than typed, from
// models not yet moved to typed errors (fal's error reference warns some are
// still migrating). The phrases are narrow so that a validation error about,
// say, safety_tolerance is not taken for a refusal.
func mentionsContentPolicy(msg string) bool {
	m := strings.ToLower(msg)
	for _, p := range []string{"content policy", "content_policy", "content checker", "flagged by", "nsfw"} {
		if strings.Contains(m, p) {
			return true
		}
	}
	return false
}

// classifyStatus turns a non-2xx answer into a ProviderError.
func classifyStatus(status int, header http.Header, body []byte) *tryon.ProviderError {
	pe := parseErrorBody(body)
	e := &tryon.ProviderError{Provider: providerName, Status: status, Detail: pe.detail}
	switch {
	case status == http.StatusUnauthorized:
		e.Kind, e.Message = tryon.FailAuth, msgAuth
	case status == http.StatusForbidden && mentionsBalance(pe.detail):
		// fal locks an account whose balance ran out with a 403; topping up,
		// not a new key, fixes it, so say which.
		e.Kind, e.Message = tryon.FailQuota, msgQuota
	case status == http.StatusForbidden:
		e.Kind, e.Message = tryon.FailAuth, msgAuth
	case status == http.StatusPaymentRequired:
		e.Kind, e.Message = tryon.FailQuota, msgQuota
	case status == http.StatusTooManyRequests:
		e.Kind, e.Message = tryon.FailRateLimited, msgRateLimited
		e.RetryAfter = retry.ParseRetryAfter(header.Get("Retry-After"), time.Now())
	case status >= 500:
		e.Kind, e.Message = tryon.FailUnavailable, msgUnavailable
	case pe.blocked:
		// Only 4xx answers reach here: a refusal is the tenant's to fix.
		e.Kind, e.Message = tryon.FailContentBlocked, msgBlocked
	case status >= 400:
		e.Kind, e.Message = tryon.FailInvalidRequest, msgInvalid
	default:
		// A 1xx or 3xx the client did not resolve is not an answer we know.
		e.Kind, e.Message = tryon.FailBadResponse, msgBadResponse
	}
	return e
}

// mentionsBalance recognises fal's "User is locked. Reason: Exhausted balance"
// (and a bare "TOP_UP" reason) among 403s.
func mentionsBalance(detail string) bool {
	d := strings.ToLower(detail)
	return strings.Contains(d, "balance") || strings.Contains(d, "top_up")
}

// retryHint reads fal's own word on retrying the same request:
// X-Fal-Needs-Retry ("1"/"true" forces a retry, "0"/"false" forbids one;
// fal documents it as overriding the status), then X-Fal-Retryable
// ("false" forbids). known is false when fal said nothing, and the status
// decides.
func retryHint(header http.Header) (retry, known bool) {
	for _, name := range []string{"X-Fal-Needs-Retry", "X-Fal-Retryable"} {
		switch strings.TrimSpace(strings.ToLower(header.Get(name))) {
		case "1", "true":
			if name == "X-Fal-Needs-Retry" {
				return true, true
			}
		case "0", "false":
			return false, true
		}
	}
	return false, false
}

// classifyTransport turns an error from sending the request or reading the
// answer into a ProviderError; a cancelled ctx is returned as is.
func classifyTransport(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return timeoutError(err)
		}
		return ctxErr
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return timeoutError(err)
	}
	return &tryon.ProviderError{
		Provider: providerName, Kind: tryon.FailUnavailable,
		Message: msgUnavailable, Detail: truncate(err.Error()),
	}
}

func timeoutError(err error) *tryon.ProviderError {
	return &tryon.ProviderError{
		Provider: providerName, Kind: tryon.FailTimeout,
		Message: msgTimeout, Detail: truncate(err.Error()),
	}
}

func badResponse(detail string) *tryon.ProviderError {
	return &tryon.ProviderError{
		Provider: providerName, Kind: tryon.FailBadResponse,
		Message: msgBadResponse, Detail: truncate(detail),
	}
}

// truncate keeps Detail readable; it cuts on a byte boundary and marks the cut.
func truncate(s string) string {
	if len(s) <= maxDetail {
		return s
	}
	return string(bytes.ToValidUTF8([]byte(s[:maxDetail]), nil)) + "…"
}
