package gemini

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

func TestClassifyHTTP(t *testing.T) {
	const rateLimited = `{"error":{"code":429,"message":"You exceeded your current quota","status":"RESOURCE_EXHAUSTED",
		"details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
		{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}`
	const daily = `{"error":{"code":429,"message":"You exceeded your current quota","status":"RESOURCE_EXHAUSTED",
		"details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerDayPerProjectPerModel"}]},
		{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"30s"}]}}`
	const badKey = `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",
		"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}`
	tests := []struct {
		name           string
		status         int
		header         http.Header
		body           string
		wantKind       tryon.FailureKind
		wantRetryAfter time.Duration
		wantDetail     string
	}{
		{"RateLimitedReadsRetryInfo", 429, nil, rateLimited, tryon.FailRateLimited, 1500 * time.Millisecond, "You exceeded"},
		{"RateLimitedWithoutDetailsUsesHeader", 429, http.Header{"Retry-After": {"7"}},
			`{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}`,
			tryon.FailRateLimited, 7 * time.Second, "Resource has been exhausted"},
		{"RateLimitedWithNoHintHasNoRetryAfter", 429, nil, `{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}`,
			tryon.FailRateLimited, 0, "RESOURCE_EXHAUSTED"},
		{"PerDayQuotaIsQuota", 429, nil, daily, tryon.FailQuota, 0, "You exceeded"},
		{"InvalidKeyIsAuth", 400, nil, badKey, tryon.FailAuth, 0, "API_KEY_INVALID"},
		{"PermissionDeniedIsAuth", 403,
			nil, `{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}`,
			tryon.FailAuth, 0, "PERMISSION_DENIED"},
		{"BadArgumentIsInvalidRequest", 400, nil,
			`{"error":{"code":400,"message":"Unsupported aspect ratio","status":"INVALID_ARGUMENT"}}`,
			tryon.FailInvalidRequest, 0, "Unsupported aspect ratio"},
		{"FailedPreconditionIsInvalidRequest", 400, nil,
			`{"error":{"code":400,"message":"User location is not supported","status":"FAILED_PRECONDITION"}}`,
			tryon.FailInvalidRequest, 0, "User location"},
		{"UnknownModelIsInvalidRequest", 404, nil,
			`{"error":{"code":404,"message":"models/x is not found","status":"NOT_FOUND"}}`,
			tryon.FailInvalidRequest, 0, "models/x is not found"},
		{"InternalIsUnavailable", 500, nil, `{"error":{"code":500,"message":"An internal error","status":"INTERNAL"}}`,
			tryon.FailUnavailable, 0, "INTERNAL"},
		{"OverloadedIsUnavailable", 503, nil,
			`{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`,
			tryon.FailUnavailable, 0, "overloaded"},
		{"DeadlineExceededIsUnavailable", 504, nil, `{"error":{"code":504,"status":"DEADLINE_EXCEEDED"}}`,
			tryon.FailUnavailable, 0, "DEADLINE_EXCEEDED"},
		{"HTMLGatewayErrorIsUnavailable", 502, nil, `<html>Bad Gateway</html>`, tryon.FailUnavailable, 0, "Bad Gateway"},
		{"ArrayWrappedStatusIsRead", 429, nil, `[` + rateLimited + `]`, tryon.FailRateLimited, 1500 * time.Millisecond, "You exceeded"},
		{"RedirectIsBadResponse", 302, nil, ``, tryon.FailBadResponse, 0, "unexpected HTTP status 302"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pe := classifyHTTP(tt.status, tt.header, []byte(tt.body))
			if pe.Kind != tt.wantKind {
				t.Errorf("Kind = %q, want %q", pe.Kind, tt.wantKind)
			}
			if pe.RetryAfter != tt.wantRetryAfter {
				t.Errorf("RetryAfter = %v, want %v", pe.RetryAfter, tt.wantRetryAfter)
			}
			if pe.Status != tt.status {
				t.Errorf("Status = %d, want %d", pe.Status, tt.status)
			}
			if !strings.Contains(pe.Detail, tt.wantDetail) {
				t.Errorf("Detail = %q, want it to contain %q", pe.Detail, tt.wantDetail)
			}
			if pe.Message == "" || pe.Provider != Name {
				t.Errorf("Message = %q, Provider = %q; want a message from %q", pe.Message, pe.Provider, Name)
			}
		})
	}
}

func TestParseImageResponse(t *testing.T) {
	png1 := base64.StdEncoding.EncodeToString(rawPNG(t, 10, 20))
	png2 := base64.StdEncoding.EncodeToString(rawPNG(t, 30, 40))
	png2URL := base64.RawURLEncoding.EncodeToString(rawPNG(t, 30, 40))
	imagePart := func(data string) string {
		return `{"inlineData":{"mimeType":"image/png","data":"` + data + `"}}`
	}
	answer := func(finish string, parts ...string) string {
		return `{"candidates":[{"content":{"role":"model","parts":[` + strings.Join(parts, ",") +
			`]},"finishReason":"` + finish + `","index":0}]}`
	}
	tests := []struct {
		name     string
		body     string
		wantKind tryon.FailureKind // "" for success
		wantW    int
		wantText string // in Message for failures
	}{
		{"TakesLastImage", answer("STOP", imagePart(png1), `{"text":"and"}`, imagePart(png2)), "", 30, ""},
		{"SkipsThoughtImages", answer("STOP", imagePart(png1),
			`{"thought":true,"inlineData":{"mimeType":"image/png","data":"`+png2+`"}}`), "", 10, ""},
		{"AcceptsURLSafeBase64", answer("STOP", imagePart(png2URL)), "", 30, ""},
		{"IgnoresNonImageInlineData", answer("STOP", imagePart(png1),
			`{"inlineData":{"mimeType":"application/pdf","data":"JVBERi0="}}`), "", 10, ""},
		{"OnlyThoughtImageIsNoOutput", answer("STOP",
			`{"thought":true,"inlineData":{"mimeType":"image/png","data":"`+png1+`"}}`), tryon.FailNoOutput, 0, ""},
		{"TextOnlyIsNoOutput", answer("STOP", `{"text":"I cannot draw that."}`), tryon.FailNoOutput, 0, "without an image"},
		{"NoImageIsNoOutput", `{"candidates":[{"finishReason":"NO_IMAGE"}]}`, tryon.FailNoOutput, 0, ""},
		{"PromptBlockNamesReason", `{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"}}`,
			tryon.FailContentBlocked, 0, "PROHIBITED_CONTENT"},
		{"SafetyFinishIsBlocked", `{"candidates":[{"finishReason":"SAFETY"}]}`, tryon.FailContentBlocked, 0, "SAFETY"},
		{"ImageSafetyIsBlocked", `{"candidates":[{"finishReason":"IMAGE_SAFETY"}]}`, tryon.FailContentBlocked, 0, "IMAGE_SAFETY"},
		{"ImageProhibitedIsBlocked", `{"candidates":[{"finishReason":"IMAGE_PROHIBITED_CONTENT"}]}`, tryon.FailContentBlocked, 0, "IMAGE_PROHIBITED_CONTENT"},
		{"RecitationIsBlocked", `{"candidates":[{"finishReason":"RECITATION"}]}`, tryon.FailContentBlocked, 0, "RECITATION"},
		{"ImageRecitationIsBlocked", `{"candidates":[{"finishReason":"IMAGE_RECITATION"}]}`, tryon.FailContentBlocked, 0, "IMAGE_RECITATION"},
		{"BlocklistIsBlocked", `{"candidates":[{"finishReason":"BLOCKLIST"}]}`, tryon.FailContentBlocked, 0, "BLOCKLIST"},
		{"SPIIIsBlocked", `{"candidates":[{"finishReason":"SPII"}]}`, tryon.FailContentBlocked, 0, "SPII"},
		{"BlockWinsOverImage", answer("IMAGE_SAFETY", imagePart(png1)), tryon.FailContentBlocked, 0, "IMAGE_SAFETY"},
		{"MaxTokensIsBadResponse", `{"candidates":[{"finishReason":"MAX_TOKENS"}]}`, tryon.FailBadResponse, 0, ""},
		{"ImageOtherIsBadResponse", `{"candidates":[{"finishReason":"IMAGE_OTHER"}]}`, tryon.FailBadResponse, 0, ""},
		{"OtherIsBadResponse", `{"candidates":[{"finishReason":"OTHER"}]}`, tryon.FailBadResponse, 0, ""},
		{"LanguageIsBadResponse", `{"candidates":[{"finishReason":"LANGUAGE"}]}`, tryon.FailBadResponse, 0, ""},
		{"UnknownFinishIsBadResponse", `{"candidates":[{"finishReason":"SOMETHING_NEW"}]}`, tryon.FailBadResponse, 0, ""},
		{"NoCandidatesIsBadResponse", `{"modelVersion":"x"}`, tryon.FailBadResponse, 0, ""},
		{"MalformedJSONIsBadResponse", `{"candidates":[`, tryon.FailBadResponse, 0, ""},
		{"WrongShapeIsBadResponse", `{"candidates":{"a":1}}`, tryon.FailBadResponse, 0, ""},
		{"BadBase64IsBadResponse", answer("STOP", imagePart("!!!not base64")), tryon.FailBadResponse, 0, ""},
		{"NotAnImageIsBadResponse", answer("STOP", imagePart(base64.StdEncoding.EncodeToString([]byte("hello world, not a png")))),
			tryon.FailBadResponse, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, pe := parseImageResponse([]byte(tt.body))
			if tt.wantKind == "" {
				if pe != nil {
					t.Fatalf("err = %v, want success", pe)
				}
				if res.Width != tt.wantW || res.ContentType != "image/png" {
					t.Errorf("got %s %d wide, want image/png %d wide", res.ContentType, res.Width, tt.wantW)
				}
				return
			}
			if pe == nil {
				t.Fatalf("got a %d-wide image, want %q", res.Width, tt.wantKind)
			}
			if pe.Kind != tt.wantKind {
				t.Errorf("Kind = %q, want %q (%v)", pe.Kind, tt.wantKind, pe)
			}
			if !strings.Contains(pe.Message, tt.wantText) {
				t.Errorf("Message = %q, want it to contain %q", pe.Message, tt.wantText)
			}
		})
	}
}

// FuzzParseImageResponse checks that no answer, however broken, panics or
// yields both a result and an error, and that results are sniffed images.
func FuzzParseImageResponse(f *testing.F) {
	f.Add([]byte(`{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"STOP"}]}`))
	f.Add([]byte(`{"promptFeedback":{"blockReason":"SAFETY"}}`))
	f.Add([]byte(`{"candidates":[{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}}]}}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, pe := parseImageResponse(body)
		if (res == nil) == (pe == nil) {
			t.Fatalf("result %v and error %v: want exactly one", res, pe)
		}
		if res != nil && (res.Width <= 0 || res.Height <= 0 || !strings.HasPrefix(res.ContentType, "image/")) {
			t.Fatalf("result %s %dx%d is not a sniffed image", res.ContentType, res.Width, res.Height)
		}
		if pe != nil && (pe.Kind == "" || pe.Message == "") {
			t.Fatalf("unclassified error %+v", pe)
		}
	})
}

// FuzzClassifyHTTP checks that every error body is classified.
func FuzzClassifyHTTP(f *testing.F) {
	f.Add(429, []byte(`{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"retryDelay":"3s"}]}}`))
	f.Add(400, []byte(`{"error":{"details":[{"reason":"API_KEY_INVALID"}]}}`))
	f.Add(503, []byte(`[{"error":{}}]`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		pe := classifyHTTP(status, nil, body)
		if pe.Kind == "" || pe.Message == "" || pe.RetryAfter < 0 {
			t.Fatalf("classifyHTTP(%d, %q) = %+v", status, body, pe)
		}
	})
}
