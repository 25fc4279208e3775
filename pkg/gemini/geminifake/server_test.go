package geminifake_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/gemini/geminifake"
)

// post sends body to path with key and returns the status and body.
func post(t *testing.T, s *geminifake.Server, path, key, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("x-goog-api-key", key)
	}
	return do(t, http.DefaultClient, req)
}

func do(t *testing.T, c *http.Client, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func newServer(t *testing.T) *geminifake.Server {
	s := geminifake.New()
	t.Cleanup(s.Close)
	return s
}

// imageSize decodes the PNG of a successful generateContent answer.
func imageSize(t *testing.T, body []byte) (w, h int) {
	t.Helper()
	var resp struct {
		Candidates []struct {
			Content struct {
				Parts []struct {
					InlineData struct {
						Data string `json:"data"`
					} `json:"inlineData"`
				} `json:"parts"`
			} `json:"content"`
		} `json:"candidates"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || len(resp.Candidates) == 0 || len(resp.Candidates[0].Content.Parts) == 0 {
		t.Fatalf("not an image answer (%v): %.300s", err, body)
	}
	parts := resp.Candidates[0].Content.Parts
	data, err := base64.StdEncoding.DecodeString(parts[len(parts)-1].InlineData.Data)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Width, cfg.Height
}

const flashPath = "/v1beta/models/gemini-2.5-flash-image:generateContent"

func TestWrongKeyGetsGooglesExactBody(t *testing.T) {
	s := newServer(t)
	const want = `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",
 "details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com",
   "metadata":{"service":"generativelanguage.googleapis.com"}},
  {"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key not valid. Please pass a valid API key."}]}}`
	for _, key := range []string{"", "wrong"} {
		status, body := post(t, s, flashPath, key, `{"contents":[{"parts":[{"text":"hi"}]}]}`)
		if status != 400 || string(body) != want {
			t.Errorf("key %q: got %d %s, want 400 and the API_KEY_INVALID body", key, status, body)
		}
	}
	// The key in the query string is not accepted: clients must use the header.
	status, _ := post(t, s, flashPath+"?key="+s.Key(), "", `{"contents":[{"parts":[{"text":"hi"}]}]}`)
	if status != 400 {
		t.Errorf("key in query: status %d, want 400", status)
	}
	if got := s.Count(geminifake.RouteGenerateContent); got != 3 {
		t.Errorf("Count = %d, want 3 (refused requests count)", got)
	}
}

func TestSetKeyChangesAcceptedKey(t *testing.T) {
	s := newServer(t)
	s.SetKey("other")
	if status, _ := post(t, s, flashPath, "other", `{"contents":[{"parts":[{"text":"hi"}]}]}`); status != 200 {
		t.Errorf("status = %d, want 200", status)
	}
}

func TestSnakeAndCamelCaseAreAccepted(t *testing.T) {
	s := newServer(t)
	png1x2 := base64.StdEncoding.EncodeToString(tinyPNG(t, 10, 20))
	for name, body := range map[string]string{
		"Camel": `{"contents":[{"role":"user","parts":[{"text":"hi"},{"inlineData":{"mimeType":"image/png","data":"` + png1x2 + `"}}]}],
			"generationConfig":{"responseModalities":["IMAGE"],"imageConfig":{"aspectRatio":"16:9"}}}`,
		"Snake": `{"contents":[{"role":"user","parts":[{"text":"hi"},{"inline_data":{"mime_type":"image/png","data":"` + png1x2 + `"}}]}],
			"generation_config":{"response_modalities":["IMAGE"],"image_config":{"aspect_ratio":"16:9"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			status, resp := post(t, s, flashPath, s.Key(), body)
			if status != 200 {
				t.Fatalf("status = %d: %s", status, resp)
			}
			if w, h := imageSize(t, resp); w != 1344 || h != 768 {
				t.Errorf("size = %dx%d, want 16:9 on 2.5 flash (1344x768)", w, h)
			}
		})
	}
}

func TestInvalidRequestsAreRefused(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		name, path, body string
		wantStatus       int
	}{
		{"UnknownField", flashPath, `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"imageConfg":{}}}`, 400},
		{"ImageSizeOnFlash25", flashPath, `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"imageConfig":{"imageSize":"1K"}}}`, 400},
		{"UnsupportedRatio", flashPath, `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"imageConfig":{"aspectRatio":"1:4"}}}`, 400},
		{"LowercaseTier", "/v1beta/models/gemini-3-pro-image-preview:generateContent",
			`{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"imageConfig":{"imageSize":"2k"}}}`, 400},
		{"NoContents", flashPath, `{"contents":[]}`, 400},
		{"BadBase64", flashPath, `{"contents":[{"parts":[{"inlineData":{"mimeType":"image/png","data":"%%%"}}]}]}`, 400},
		{"UnsupportedMIME", flashPath, `{"contents":[{"parts":[{"inlineData":{"mimeType":"image/gif","data":"R0lG"}}]}]}`, 400},
		{"NotJSON", flashPath, `contents`, 400},
		{"UnknownModel", "/v1beta/models/dall-e:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`, 404},
		{"VeoSquare", "/v1beta/models/veo-3.0-generate-001:predictLongRunning",
			`{"instances":[{"prompt":"x"}],"parameters":{"aspectRatio":"1:1"}}`, 400},
		{"VeoFiveSeconds", "/v1beta/models/veo-3.0-generate-001:predictLongRunning",
			`{"instances":[{"prompt":"x"}],"parameters":{"durationSeconds":5}}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, s, tt.path, s.Key(), tt.body)
			if status != tt.wantStatus || !bytes.Contains(body, []byte(`"error"`)) {
				t.Errorf("got %d %s, want %d with a google.rpc.Status", status, body, tt.wantStatus)
			}
		})
	}
}

func TestImageSizesFollowTheTables(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		model, ratio, size string
		w, h               int
	}{
		{"gemini-2.5-flash-image", "21:9", "", 1536, 672},
		{"gemini-3-pro-image-preview", "2:3", "", 848, 1264},
		{"gemini-3-pro-image-preview", "2:3", "2K", 1696, 2528},
		{"gemini-3-pro-image-preview", "21:9", "4K", 6336, 2688},
		{"gemini-3.1-flash-image-preview", "1:4", "1K", 512, 2048},
	}
	for _, tt := range tests {
		t.Run(tt.model+"/"+tt.ratio+"/"+tt.size, func(t *testing.T) {
			cfg := `"aspectRatio":"` + tt.ratio + `"`
			if tt.size != "" {
				cfg += `,"imageSize":"` + tt.size + `"`
			}
			status, body := post(t, s, "/v1beta/models/"+tt.model+":generateContent", s.Key(),
				`{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"imageConfig":{`+cfg+`}}}`)
			if status != 200 {
				t.Fatalf("status = %d: %s", status, body)
			}
			if w, h := imageSize(t, body); w != tt.w || h != tt.h {
				t.Errorf("size = %dx%d, want %dx%d", w, h, tt.w, tt.h)
			}
		})
	}
}

func TestFlakyFailsOnlyTheFirstTime(t *testing.T) {
	s := newServer(t)
	body := `{"contents":[{"parts":[{"text":"x ` + geminifake.TokenFlaky + `"}]}]}`
	var got []int
	for range 3 {
		status, _ := post(t, s, flashPath, s.Key(), body)
		got = append(got, status)
	}
	if got[0] != 503 || got[1] != 200 || got[2] != 200 {
		t.Errorf("statuses = %v, want [503 200 200]", got)
	}
}

func TestHangAnswersNothingUntilClientGivesUp(t *testing.T) {
	s := newServer(t)
	// Were the hang not a hang, the fake would answer 200 at once.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+flashPath,
		strings.NewReader(`{"contents":[{"parts":[{"text":"`+geminifake.TokenHang+`"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-goog-api-key", s.Key())
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got HTTP %d, want the request to time out", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the deadline", err)
	}
	if got := s.Count(geminifake.RouteGenerateContent); got != 1 {
		t.Errorf("Count = %d, want 1", got)
	}
}

func TestVideoDownloadNeedsKeyAndRedirects(t *testing.T) {
	s := newServer(t)
	status, body := post(t, s, "/v1beta/models/veo-3.0-fast-generate-001:predictLongRunning", s.Key(),
		`{"instances":[{"prompt":"walk"}],"parameters":{"aspectRatio":"9:16","durationSeconds":"8","sampleCount":1}}`)
	if status != 200 {
		t.Fatalf("submit: %d %s", status, body)
	}
	var op struct{ Name string }
	if err := json.Unmarshal(body, &op); err != nil || !strings.HasPrefix(op.Name, "models/veo-3.0-fast-generate-001/operations/") {
		t.Fatalf("name = %q (%v)", op.Name, err)
	}
	get := func(url, key string, c *http.Client) (int, []byte) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if key != "" {
			req.Header.Set("x-goog-api-key", key)
		}
		return do(t, c, req)
	}
	status, body = get(s.URL()+"/v1beta/"+op.Name, s.Key(), http.DefaultClient)
	var done struct {
		Done     bool
		Response struct {
			Type                  string `json:"@type"`
			GenerateVideoResponse struct {
				GeneratedSamples []struct{ Video struct{ URI string } }
			}
		}
	}
	if err := json.Unmarshal(body, &done); status != 200 || err != nil || !done.Done ||
		len(done.Response.GenerateVideoResponse.GeneratedSamples) != 1 ||
		!strings.HasSuffix(done.Response.Type, "PredictLongRunningResponse") {
		t.Fatalf("poll: %d %s", status, body)
	}
	uri := done.Response.GenerateVideoResponse.GeneratedSamples[0].Video.URI
	if status, _ := get(uri, "", http.DefaultClient); status != 400 {
		t.Errorf("download without key: %d, want 400", status)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if status, _ := get(uri, s.Key(), noFollow); status != http.StatusFound {
		t.Errorf("download with key: %d, want 302", status)
	}
	status, video := get(uri, s.Key(), http.DefaultClient)
	if status != 200 || len(video) != 16<<10 || string(video[4:8]) != "ftyp" {
		t.Errorf("followed download: %d, %d bytes, want 200 and a 16 KiB MP4", status, len(video))
	}
	if status, _ := get(s.URL()+"/storage/videos/nope.mp4?sig=x", "", http.DefaultClient); status != 403 {
		t.Errorf("unsigned storage read: %d, want 403", status)
	}
}

func TestMP4BytesLooksLikeMP4(t *testing.T) {
	b := geminifake.MP4Bytes(1000)
	if len(b) != 1000 || string(b[4:12]) != "ftypisom" || string(b[36:40]) != "mdat" {
		t.Errorf("MP4Bytes(1000) = %d bytes starting %q", len(b), b[:40])
	}
	if got := len(geminifake.MP4Bytes(3)); got != 40 {
		t.Errorf("len(MP4Bytes(3)) = %d, want the 40-byte minimum", got)
	}
}

func tinyPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
