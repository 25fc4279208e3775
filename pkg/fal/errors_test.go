package fal

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

func TestClassifyStatus(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		kind   tryon.FailureKind
		detail string
	}{
		{"Unauthorized", 401, `{"detail": "No user found for Key ID and Secret"}`, tryon.FailAuth, "No user found for Key ID and Secret"},
		{"ForbiddenAdminLock", 403, `{"detail": "User is locked. Reason: Admin lock. Please contact support@fal.ai"}`, tryon.FailAuth, "Admin lock"},
		{"ForbiddenExhaustedBalance", 403, `{"detail": "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing."}`, tryon.FailQuota, "Exhausted balance"},
		{"ForbiddenTopUp", 403, `{"detail": "User is locked. Reason: TOP_UP."}`, tryon.FailQuota, "TOP_UP"},
		{"PaymentRequired", 402, `{"detail": "Payment required"}`, tryon.FailQuota, "Payment required"},
		{"ValidationList", 422, `{"detail": [{"loc": ["body", "aspect_ratio"], "msg": "Input should be '1:1'", "type": "literal_error", "input": "7:3"}]}`, tryon.FailInvalidRequest, "body.aspect_ratio: Input should be '1:1' (literal_error)"},
		{"ContentPolicyTyped", 422, `{"detail": [{"loc": ["body", "image_urls", 1], "msg": "flagged", "type": "content_policy_violation", "categories": ["sexual"]}]}`, tryon.FailContentBlocked, "body.image_urls.1: flagged (content_policy_violation)"},
		{"ContentPolicyWorded", 422, `{"detail": "The content could not be processed because it violates our content policy."}`, tryon.FailContentBlocked, "content policy"},
		{"ContentPolicyOn400", 400, `{"detail": [{"loc": ["body"], "msg": "Prompt was flagged by a content checker", "type": "value_error"}]}`, tryon.FailContentBlocked, "content checker"},
		{"SafetyToleranceIsNotPolicy", 422, `{"detail": [{"loc": ["body", "safety_tolerance"], "msg": "Input should be '1', '2'", "type": "literal_error"}]}`, tryon.FailInvalidRequest, "safety_tolerance"},
		{"BadRequestString", 400, `{"detail": "Invalid timeout header", "error_type": "bad_request"}`, tryon.FailInvalidRequest, "bad_request: Invalid timeout header"},
		{"UnknownApplication", 404, `{"detail": "Application not found"}`, tryon.FailInvalidRequest, "Application not found"},
		{"RateLimited", 429, `{"detail": "Too many concurrent requests"}`, tryon.FailRateLimited, "Too many concurrent requests"},
		{"RunnerTimeout", 504, `{"detail": "Request timed out", "error_type": "request_timeout"}`, tryon.FailUnavailable, "request_timeout: Request timed out"},
		{"BadGatewayHTML", 502, `<html><body>Bad Gateway</body></html>`, tryon.FailUnavailable, "<html><body>Bad Gateway</body></html>"},
		{"EmptyBody", 503, ``, tryon.FailUnavailable, ""},
		{"Redirect", 302, ``, tryon.FailBadResponse, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := classifyStatus(tc.status, http.Header{}, []byte(tc.body))
			if e.Kind != tc.kind {
				t.Errorf("Kind = %q, want %q", e.Kind, tc.kind)
			}
			if e.Status != tc.status || e.Provider != "fal" || e.Message == "" {
				t.Errorf("got %+v, want Status %d, Provider fal and a message", e, tc.status)
			}
			if !strings.Contains(e.Detail, tc.detail) {
				t.Errorf("Detail = %q, want it to contain %q", e.Detail, tc.detail)
			}
		})
	}
}

func TestParseErrorBodyDropsEchoedInput(t *testing.T) {
	huge := "data:image/png;base64," + strings.Repeat("A", 5000)
	pe := parseErrorBody([]byte(`{"detail": [{"loc": ["body", "image_urls", 0], "msg": "too large", "type": "image_too_large", "input": "` + huge + `", "ctx": {"max_width": 1}}]}`))
	if strings.Contains(pe.detail, "base64") {
		t.Errorf("detail repeats the echoed input: %.100q", pe.detail)
	}
	if len(pe.detail) > maxDetail+len("…") {
		t.Errorf("detail is %d bytes, want at most %d", len(pe.detail), maxDetail)
	}
}

func TestTruncateKeepsValidUTF8(t *testing.T) {
	s := strings.Repeat("é", maxDetail) // 2 bytes each, so the cut lands mid-rune half the time
	got := truncate(s)
	if !strings.HasSuffix(got, "…") || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("truncate gave %d bytes ending %q", len(got), got[len(got)-8:])
	}
}

func TestRetryHint(t *testing.T) {
	for _, tc := range []struct {
		needsRetry, retryable string
		retry, known          bool
	}{
		{"", "", false, false},
		{"", "true", false, false},
		{"", "false", false, true},
		{"", "FALSE", false, true},
		{"", "0", false, true},
		{"1", "", true, true},
		{"true", "", true, true},
		{"0", "", false, true},
		{"false", "true", false, true},
		{"1", "false", true, true}, // X-Fal-Needs-Retry wins
	} {
		h := http.Header{}
		if tc.needsRetry != "" {
			h.Set("X-Fal-Needs-Retry", tc.needsRetry)
		}
		if tc.retryable != "" {
			h.Set("X-Fal-Retryable", tc.retryable)
		}
		if retry, known := retryHint(h); retry != tc.retry || known != tc.known {
			t.Errorf("X-Fal-Needs-Retry %q, X-Fal-Retryable %q: got %v, %v; want %v, %v",
				tc.needsRetry, tc.retryable, retry, known, tc.retry, tc.known)
		}
	}
}

func TestClassifyTransport(t *testing.T) {
	t.Run("Cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := classifyTransport(ctx, errors.New("read: use of closed connection")); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("DeadlineExceeded", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		err := classifyTransport(ctx, errors.New("context deadline exceeded"))
		if perr, ok := err.(*tryon.ProviderError); !ok || perr.Kind != tryon.FailTimeout {
			t.Errorf("err = %v, want a timeout ProviderError", err)
		}
	})
	t.Run("ConnectionRefused", func(t *testing.T) {
		err := classifyTransport(context.Background(), errors.New("dial tcp 127.0.0.1:1: connect: connection refused"))
		if perr, ok := err.(*tryon.ProviderError); !ok || perr.Kind != tryon.FailUnavailable {
			t.Errorf("err = %v, want an unavailable ProviderError", err)
		}
	})
}

func TestDecodeAnswer(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		kind tryon.FailureKind // "" means success
	}{
		{"OK", `{"images": [{"url": "https://v3.fal.media/files/x.png", "content_type": "image/png", "width": 1024, "height": 1024}], "description": ""}`, ""},
		{"OKWithoutSizes", `{"images": [{"url": "data:image/png;base64,AAAA"}]}`, ""},
		{"NoImagesField", `{"description": "hi"}`, tryon.FailBadResponse},
		{"NullImages", `{"images": null}`, tryon.FailBadResponse},
		{"EmptyImages", `{"images": [], "description": "I cannot draw that."}`, tryon.FailNoOutput},
		{"EmptyURL", `{"images": [{"url": ""}]}`, tryon.FailBadResponse},
		{"WrongType", `{"images": {"url": "x"}}`, tryon.FailBadResponse},
		{"Truncated", `{"images": [{"url": "`, tryon.FailBadResponse},
		{"NotJSON", `<html>`, tryon.FailBadResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, perr := decodeAnswer([]byte(tc.body))
			switch {
			case tc.kind == "" && perr != nil:
				t.Errorf("err = %v, want success", perr)
			case tc.kind == "" && (*a.Images)[0].URL == "":
				t.Errorf("answer has no URL")
			case tc.kind != "" && (perr == nil || perr.Kind != tc.kind):
				t.Errorf("err = %v, want kind %q", perr, tc.kind)
			}
		})
	}
}

func FuzzParseErrorBody(f *testing.F) {
	for _, s := range []string{
		`{"detail": "No user found for Key ID and Secret"}`,
		`{"detail": [{"loc": ["body", "prompt", 0], "msg": "x", "type": "content_policy_violation"}]}`,
		`{"detail": {"weird": true}}`,
		`{"detail": [1, "a", null]}`,
		`<html>`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		pe := parseErrorBody(body)
		if len(pe.detail) > maxDetail+len("…") {
			t.Errorf("detail is %d bytes", len(pe.detail))
		}
		for _, status := range []int{401, 403, 422, 429, 503} {
			if e := classifyStatus(status, http.Header{}, body); e.Kind == "" || e.Message == "" {
				t.Errorf("status %d: unclassified %+v", status, e)
			}
		}
	})
}

func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range []string{
		`{"images": [{"url": "https://x/y.png"}]}`,
		`{"images": []}`, `{"images": null}`, `{}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, perr := decodeAnswer(body)
		if (a == nil) == (perr == nil) {
			t.Fatalf("answer %v and error %v: want exactly one", a, perr)
		}
		if a != nil && strings.TrimSpace((*a.Images)[0].URL) == "" {
			t.Errorf("accepted an answer without a URL")
		}
	})
}
