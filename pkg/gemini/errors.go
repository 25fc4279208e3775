package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/retry"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// rpcStatus is Google's error body (google.rpc.Status under "error"). Only
// the details we act on are decoded.
type rpcStatus struct {
	Error *struct {
		Code    int         `json:"code"`
		Message string      `json:"message"`
		Status  string      `json:"status"`
		Details []rpcDetail `json:"details"`
	} `json:"error"`
}

// rpcDetail is one entry of google.rpc.Status.details: ErrorInfo (reason,
// metadata), QuotaFailure (violations) or RetryInfo (retryDelay).
type rpcDetail struct {
	Type       string            `json:"@type"`
	Reason     string            `json:"reason"`
	Metadata   map[string]string `json:"metadata"`
	RetryDelay string            `json:"retryDelay"`
	Violations []struct {
		QuotaID     string `json:"quotaId"`
		QuotaMetric string `json:"quotaMetric"`
	} `json:"violations"`
}

// perDay reports whether the detail names a daily quota: in a QuotaFailure
// violation's quotaId or quotaMetric, or in ErrorInfo's metadata (quota_id,
// quota_limit, quota_metric), the only place some 429s name it. A daily
// quota stays spent until the day resets, so it is not a rate limit to
// wait out.
func (d rpcDetail) perDay() bool {
	daily := func(s string) bool {
		s = strings.ToLower(s)
		return strings.Contains(s, "perday") || strings.Contains(s, "per_day") || strings.Contains(s, "per-day")
	}
	for _, v := range d.Violations {
		if daily(v.QuotaID) || daily(v.QuotaMetric) {
			return true
		}
	}
	for _, k := range []string{"quota_id", "quotaId", "quota_limit", "quota_metric"} {
		if daily(d.Metadata[k]) {
			return true
		}
	}
	return false
}

// decodeStatus reads an error body. Google sometimes wraps it in a one-element
// array; anything else that is not a Status yields nil.
func decodeStatus(body []byte) *rpcStatus {
	body = bytes.TrimSpace(body)
	var st rpcStatus
	if len(body) > 0 && body[0] == '[' {
		var list []rpcStatus
		if json.Unmarshal(body, &list) != nil || len(list) == 0 {
			return nil
		}
		st = list[0]
	} else if json.Unmarshal(body, &st) != nil {
		return nil
	}
	if st.Error == nil {
		return nil
	}
	return &st
}

// classifyHTTP turns a non-2xx answer into a ProviderError. It is pure so
// that the whole table can be tested without a server.
func classifyHTTP(status int, header http.Header, body []byte) *tryon.ProviderError {
	pe := &tryon.ProviderError{Provider: Name, Status: status}
	st := decodeStatus(body)
	var canonical, reason string
	var perDay bool
	var retryDelay time.Duration
	if st != nil {
		canonical = st.Error.Status
		for _, d := range st.Error.Details {
			if d.Reason != "" && reason == "" {
				reason = d.Reason
			}
			if d.RetryDelay != "" {
				if dur, err := time.ParseDuration(d.RetryDelay); err == nil && dur > 0 {
					retryDelay = dur
				}
			}
			perDay = perDay || d.perDay()
		}
		pe.Detail = joinNonEmpty(": ", canonical, reason, st.Error.Message)
	} else {
		pe.Detail = truncate(string(bytes.TrimSpace(body)), 300)
	}

	switch {
	case status == http.StatusTooManyRequests || canonical == "RESOURCE_EXHAUSTED":
		if perDay {
			pe.Kind, pe.Message = tryon.FailQuota, "the provider's daily quota is used up"
			break
		}
		pe.Kind, pe.Message = tryon.FailRateLimited, "the provider is rate limiting requests; try again later"
		pe.RetryAfter = retryDelay
		if pe.RetryAfter == 0 {
			pe.RetryAfter = retry.ParseRetryAfter(header.Get("Retry-After"), time.Now())
		}
	case reason == "API_KEY_INVALID" || canonical == "PERMISSION_DENIED" || canonical == "UNAUTHENTICATED" ||
		status == http.StatusUnauthorized || status == http.StatusForbidden:
		pe.Kind, pe.Message = tryon.FailAuth, "the provider rejected our credentials"
	case status == http.StatusRequestTimeout || status >= 500:
		pe.Kind, pe.Message = tryon.FailUnavailable, "the provider is unavailable; try again later"
	case status >= 400:
		pe.Kind, pe.Message = tryon.FailInvalidRequest, "the provider rejected the request"
	default:
		pe.Kind, pe.Message = tryon.FailBadResponse, "the provider returned an unexpected response"
		pe.Detail = joinNonEmpty(": ", "unexpected HTTP status "+strconv.Itoa(status), pe.Detail)
	}
	return pe
}

// transportFailure classifies an error from sending a request or reading
// its answer. The URL is dropped from the detail because a redirect target
// may carry a signed token.
func transportFailure(ctx context.Context, err error) *tryon.ProviderError {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	pe := &tryon.ProviderError{Provider: Name, Detail: err.Error()}
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		pe.Kind, pe.Message = tryon.FailTimeout, "the request was cancelled before the provider answered"
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		pe.Kind, pe.Message = tryon.FailTimeout, "the provider did not answer in time"
	default:
		pe.Kind, pe.Message = tryon.FailUnavailable, "the provider could not be reached"
	}
	return pe
}

// badResponse is the failure for an answer we cannot use.
func badResponse(detail string, args ...any) *tryon.ProviderError {
	return &tryon.ProviderError{
		Provider: Name,
		Kind:     tryon.FailBadResponse,
		Message:  "the provider returned an unexpected response",
		Detail:   fmt.Sprintf(detail, args...),
	}
}

// finishBlocked lists the finish reasons that mean a safety or policy filter
// stopped the output: the tenant's to fix, never worth a retry.
var finishBlocked = map[string]bool{
	"SAFETY":                   true,
	"PROHIBITED_CONTENT":       true,
	"BLOCKLIST":                true,
	"SPII":                     true,
	"IMAGE_SAFETY":             true,
	"IMAGE_PROHIBITED_CONTENT": true,
	"IMAGE_RECITATION":         true,
	"RECITATION":               true,
}

// blocked is the failure for content a safety filter refused; reason is
// Google's enum name, which tells the tenant what to change.
func blocked(what, reason string) *tryon.ProviderError {
	return &tryon.ProviderError{
		Provider: Name,
		Kind:     tryon.FailContentBlocked,
		Message:  fmt.Sprintf("the provider's safety filters blocked the %s (%s)", what, reason),
		Detail:   what + " blocked: " + reason,
	}
}

// configProblem logs a failure that means our deployment is misconfigured
// (bad key, unknown model, a request we built wrong, a spent quota) at error
// level, because no retry or tenant action fixes it. It returns pe unchanged.
// target names what was called (a model, an operation) for the log.
func (p *Provider) configProblem(pe *tryon.ProviderError, target string) *tryon.ProviderError {
	pe.Detail = p.redact(pe.Detail)
	if pe.ConfigurationProblem() {
		p.log.Error("gemini: configuration problem: check the Gemini API key, model names and request shape",
			"kind", string(pe.Kind), "http_status", pe.Status, "target", target, "detail", pe.Detail)
	}
	return pe
}

// redact removes the API key from text that came from outside, in case an
// upstream message ever echoes it.
func (p *Provider) redact(s string) string {
	if p.key == "" {
		return s
	}
	return strings.ReplaceAll(s, p.key, "[redacted]")
}

func joinNonEmpty(sep string, parts ...string) string {
	var kept []string
	for _, s := range parts {
		if s != "" {
			kept = append(kept, s)
		}
	}
	return strings.Join(kept, sep)
}

// truncate shortens s to at most n bytes for logs, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
