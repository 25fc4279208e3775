package gemini

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/color"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/gemini/geminifake"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// video is a veo3 request.
func video(prompt string, w, h int) tryon.ProviderRequest {
	return tryon.ProviderRequest{Service: tryon.ServiceVeo3, Prompt: prompt, Width: w, Height: h, DurationSeconds: 8}
}

// start submits req and fails the test if that fails.
func start(t *testing.T, p *Provider, req tryon.ProviderRequest) string {
	t.Helper()
	op, err := p.Start(context.Background(), req)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return op
}

// wantVideo asserts res is the fake's MP4 at the given frame size.
func wantVideo(t *testing.T, res *tryon.Result, w, h int) {
	t.Helper()
	if res == nil {
		t.Fatal("no result, want a video")
	}
	if res.ContentType != "video/mp4" || res.Width != w || res.Height != h {
		t.Errorf("got %s %dx%d, want video/mp4 %dx%d", res.ContentType, res.Width, res.Height, w, h)
	}
	if len(res.Bytes) < 12 || string(res.Bytes[4:8]) != "ftyp" {
		t.Errorf("bytes do not start with an ftyp box")
	}
}

func TestVideoDoneAtFirstPoll(t *testing.T) {
	f := newFake(t)
	p, logs := newProvider(t, f)
	op := start(t, p, video("a model walks", 1920, 1080))
	if !strings.HasPrefix(op, "models/veo-3.0-fast-generate-001/operations/") || !strings.HasSuffix(op, "#16:9") {
		t.Errorf("operation = %q, want the Veo name with #16:9", op)
	}
	res, err := p.Poll(context.Background(), op)
	if err != nil {
		t.Fatal(err)
	}
	wantVideo(t, res, 1280, 720)
	if len(res.Bytes) != 16<<10 {
		t.Errorf("len = %d, want the fake's 16 KiB", len(res.Bytes))
	}
	// The download went to the key-protected route, which redirected.
	dl, ok := f.Last(geminifake.RouteDownload)
	if !ok || dl.Header.Get("x-goog-api-key") != f.Key() {
		t.Errorf("download request %+v, want one carrying the key", dl)
	}
	if f.Count(geminifake.RouteStorage) != 1 {
		t.Errorf("storage requests = %d, want 1 (the redirect was followed)", f.Count(geminifake.RouteStorage))
	}
	if strings.Contains(logs.String(), "files/") {
		t.Errorf("logs mention the video URI: %s", logs)
	}
}

func TestVideoDoneAfterSeveralPolls(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	op := start(t, p, video("spin "+geminifake.TokenVeoPolls(3), 720, 1280))
	for i := range 3 {
		res, err := p.Poll(context.Background(), op)
		if res != nil || err != nil {
			t.Fatalf("poll %d = %v, %v; want still running", i+1, res, err)
		}
	}
	res, err := p.Poll(context.Background(), op)
	if err != nil {
		t.Fatal(err)
	}
	wantVideo(t, res, 720, 1280)
	if got := f.Count(geminifake.RouteOperation); got != 4 {
		t.Errorf("operation requests = %d, want 4", got)
	}
}

func TestVideoStateIsSharedBetweenProviders(t *testing.T) {
	f := newFake(t)
	first, _ := newProvider(t, f)
	second, _ := newProvider(t, f)
	op := start(t, first, video("wave "+geminifake.TokenVeoPolls(1), 1280, 720))
	if res, err := first.Poll(context.Background(), op); res != nil || err != nil {
		t.Fatalf("first poll = %v, %v; want still running", res, err)
	}
	res, err := second.Poll(context.Background(), op)
	if err != nil {
		t.Fatal(err)
	}
	wantVideo(t, res, 1280, 720)
}

func TestVideoGenerateIsSynchronous(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	res, err := p.Generate(context.Background(), video("turn "+geminifake.TokenVeoPolls(2), 1080, 1920))
	if err != nil {
		t.Fatal(err)
	}
	wantVideo(t, res, 720, 1280)
	if got := f.Count(geminifake.RouteOperation); got != 3 {
		t.Errorf("operation requests = %d, want 3", got)
	}
}

func TestVideoGenerateTimesOutWhileRunning(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := p.Generate(ctx, video("slow "+geminifake.TokenVeoPolls(9999), 1280, 720))
	wantKind(t, err, tryon.FailTimeout)
}

func TestVideoFailures(t *testing.T) {
	tests := []struct {
		name     string
		token    string
		wantKind tryon.FailureKind
		wantText string // in Message or Detail
	}{
		{"FilteredIsContentBlocked", geminifake.TokenVeoFiltered, tryon.FailContentBlocked, "safety policies"},
		{"OperationErrorIsBadResponse", geminifake.TokenVeoError, tryon.FailBadResponse, "code 13: internal error"},
		{"Download404IsBadResponse", geminifake.TokenVeoDownload404, tryon.FailBadResponse, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			p, _ := newProvider(t, f)
			op := start(t, p, video("jump "+tt.token, 1280, 720))
			res, err := p.Poll(context.Background(), op)
			if res != nil {
				t.Fatalf("got a video, want %q", tt.wantKind)
			}
			pe := wantKind(t, err, tt.wantKind)
			if !strings.Contains(pe.Message+" "+pe.Detail, tt.wantText) {
				t.Errorf("error %q does not mention %q", err, tt.wantText)
			}
		})
	}
}

func TestVideoOversizedDownloadIsBadResponse(t *testing.T) {
	f := newFake(t)
	f.SetBigVideoSize(64 << 10)
	p, _ := newProvider(t, f, func(c *Config) { c.MaxVideoBytes = 32 << 10 })
	op := start(t, p, video("run "+geminifake.TokenVeoBig, 1280, 720))
	_, err := p.Poll(context.Background(), op)
	pe := wantKind(t, err, tryon.FailBadResponse)
	if !strings.Contains(pe.Detail, "video exceeds size cap") {
		t.Errorf("Detail = %q, want the size cap", pe.Detail)
	}
}

func TestVideoBigDownloadUnderCapSucceeds(t *testing.T) {
	f := newFake(t)
	f.SetBigVideoSize(64 << 10)
	p, _ := newProvider(t, f, func(c *Config) { c.MaxVideoBytes = 64 << 10 })
	op := start(t, p, video("run "+geminifake.TokenVeoBig, 1280, 720))
	res, err := p.Poll(context.Background(), op)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Bytes) != 64<<10 {
		t.Errorf("len = %d, want %d", len(res.Bytes), 64<<10)
	}
}

func TestVideoStartRequestBody(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	person := pngImage(t, 30, 40, color.White)
	garment := pngImage(t, 20, 20, color.Black)
	tests := []struct {
		name      string
		req       tryon.ProviderRequest
		wantImage *tryon.Image
		wantRatio string
		wantSecs  int
	}{
		{"PersonIsFirstFrame", tryon.ProviderRequest{Service: tryon.ServiceVeo3, Prompt: "walk", Width: 720, Height: 1280,
			Person: person, Garment: garment, DurationSeconds: 5}, person, "9:16", 6},
		{"GarmentIsFirstFrameWithoutPerson", tryon.ProviderRequest{Service: tryon.ServiceVeo3, Prompt: "float", Width: 1920, Height: 1080,
			Garment: garment, DurationSeconds: 4}, garment, "16:9", 4},
		{"TextOnlyHasNoImage", tryon.ProviderRequest{Service: tryon.ServiceVeo3, Prompt: "a runway", Width: 1280, Height: 720},
			nil, "16:9", 8},
		{"NoSizeFollowsFirstFrame", tryon.ProviderRequest{Service: tryon.ServiceVeo3, Prompt: "pose", Person: person},
			person, "9:16", 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := start(t, p, tt.req)
			if !strings.HasSuffix(op, "#"+tt.wantRatio) {
				t.Errorf("operation = %q, want it to end in #%s", op, tt.wantRatio)
			}
			got, _ := f.Last(geminifake.RoutePredictLongRunning)
			if got.Header.Get("x-goog-api-key") != f.Key() || strings.Contains(got.URL, "key") {
				t.Errorf("key not in the header only: URL %q", got.URL)
			}
			var body struct {
				Instances []struct {
					Prompt string `json:"prompt"`
					Image  *struct {
						BytesBase64Encoded string `json:"bytesBase64Encoded"`
						MimeType           string `json:"mimeType"`
					} `json:"image"`
				} `json:"instances"`
				Parameters map[string]json.RawMessage `json:"parameters"`
			}
			if err := json.Unmarshal(got.Body, &body); err != nil {
				t.Fatal(err)
			}
			if len(body.Instances) != 1 || body.Instances[0].Prompt != tt.req.Prompt {
				t.Fatalf("instances = %+v, want one with the prompt", body.Instances)
			}
			img := body.Instances[0].Image
			switch {
			case tt.wantImage == nil && img != nil:
				t.Errorf("image sent, want none")
			case tt.wantImage != nil && (img == nil || img.MimeType != tt.wantImage.ContentType ||
				img.BytesBase64Encoded != base64.StdEncoding.EncodeToString(tt.wantImage.Bytes)):
				t.Errorf("image = %+v, want the expected first frame", img)
			}
			wantParams := map[string]string{
				"aspectRatio":     `"` + tt.wantRatio + `"`,
				"durationSeconds": fmt.Sprint(tt.wantSecs), // a JSON number
				"sampleCount":     "1",
			}
			for k, want := range wantParams {
				if string(body.Parameters[k]) != want {
					t.Errorf("parameters.%s = %s, want %s", k, body.Parameters[k], want)
				}
			}
		})
	}
}

func TestVideoStartTransientFailureWithShortDeadline(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), minSubmitAttempt)
	defer cancel()
	_, err := p.Start(ctx, video("dance "+geminifake.Token429, 1280, 720))
	pe := wantKind(t, err, tryon.FailRateLimited)
	if pe.RetryAfter != 2*time.Second {
		t.Errorf("RetryAfter = %v, want 2s", pe.RetryAfter)
	}
	if got := f.Count(geminifake.RoutePredictLongRunning); got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}
}

func TestVideoStartRefusesImageService(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	_, err := p.Start(context.Background(), tryon.ProviderRequest{Service: tryon.ServiceBanana, Prompt: "x"})
	wantKind(t, err, tryon.FailInvalidRequest)
}

func TestVideoPollRefusesForeignOperationName(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	for _, op := range []string{"", "../../v1beta/files/x", "models/veo/operations/a?key=1", "https://evil.example/operations/x"} {
		_, err := p.Poll(context.Background(), op)
		wantKind(t, err, tryon.FailInvalidRequest)
	}
	if got := f.Count(geminifake.RouteOperation); got != 0 {
		t.Errorf("operation requests = %d, want 0", got)
	}
}

func TestVideoPollBareNameIsLandscape(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	op := start(t, p, video("bow", 720, 1280))
	name, _, _ := strings.Cut(op, "#")
	res, err := p.Poll(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	wantVideo(t, res, 1280, 720)
}

// opServer answers every operation GET with body, for shapes the fake does
// not produce.
func opServer(t *testing.T, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func directProvider(t *testing.T, base string, edit ...func(*Config)) *Provider {
	t.Helper()
	f := newFake(t) // only for its key and a discarded log
	edit = append([]func(*Config){func(c *Config) { c.BaseURL = base }}, edit...)
	p, _ := newProvider(t, f, edit...)
	return p
}

func TestVideoPollMissingDoneIsRunning(t *testing.T) {
	srv := opServer(t, `{"name":"models/veo-3.0-fast-generate-001/operations/abc","metadata":{"@type":"x"}}`)
	p := directProvider(t, srv.URL)
	res, err := p.Poll(context.Background(), "models/veo-3.0-fast-generate-001/operations/abc#16:9")
	if res != nil || err != nil {
		t.Errorf("Poll = %v, %v; want still running", res, err)
	}
}

func TestVideoPollInlineVideo(t *testing.T) {
	data := geminifake.MP4Bytes(100)
	srv := opServer(t, `{"name":"operations/abc","done":true,"response":{"generateVideoResponse":{"generatedSamples":[`+
		`{"video":{"encodedVideo":"`+base64.StdEncoding.EncodeToString(data)+`","encoding":"video/mp4"}}]}}}`)
	p := directProvider(t, srv.URL)
	res, err := p.Poll(context.Background(), "operations/abc#9:16")
	if err != nil {
		t.Fatal(err)
	}
	wantVideo(t, res, 720, 1280)
	if !bytes.Equal(res.Bytes, data) {
		t.Error("bytes differ from the inline video")
	}
}

func TestVideoPollDoneWithoutSamplesIsNoOutput(t *testing.T) {
	srv := opServer(t, `{"name":"operations/abc","done":true,"response":{"generateVideoResponse":{}}}`)
	p := directProvider(t, srv.URL)
	_, err := p.Poll(context.Background(), "operations/abc")
	wantKind(t, err, tryon.FailNoOutput)
}

func TestVideoPollMalformedIsBadResponse(t *testing.T) {
	srv := opServer(t, `{"name":"operations/abc","done":tru`)
	p := directProvider(t, srv.URL)
	_, err := p.Poll(context.Background(), "operations/abc")
	wantKind(t, err, tryon.FailBadResponse)
}

func TestVideoUnknownSizeDownloadOverCapIsBadResponse(t *testing.T) {
	// A chunked answer has no Content-Length, so only the read cap stops it.
	var mux http.ServeMux
	srv := httptest.NewServer(&mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("GET /v1beta/operations/abc", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"done":true,"response":{"generateVideoResponse":{"generatedSamples":[{"video":{"uri":%q}}]}}}`,
			srv.URL+"/v1beta/files/abc:download?alt=media")
	})
	mux.HandleFunc("GET /v1beta/files/{file}", func(w http.ResponseWriter, r *http.Request) {
		for range 64 {
			_, _ = w.Write(geminifake.MP4Bytes(1 << 10))
			w.(http.Flusher).Flush()
		}
	})
	p := directProvider(t, srv.URL, func(c *Config) { c.MaxVideoBytes = 32 << 10 })
	_, err := p.Poll(context.Background(), "operations/abc")
	pe := wantKind(t, err, tryon.FailBadResponse)
	if !strings.Contains(pe.Detail, "video exceeds size cap") {
		t.Errorf("Detail = %q, want the size cap", pe.Detail)
	}
}

func TestVideoDownloadKeyStaysOnAPIOrigin(t *testing.T) {
	// Storage on another origin must receive neither the key in a header nor
	// a request made with it.
	var storageSawKey atomic.Bool
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		storageSawKey.Store(r.Header.Get("x-goog-api-key") != "")
		_, _ = w.Write(geminifake.MP4Bytes(64))
	}))
	t.Cleanup(storage.Close)
	var apiSawKey atomic.Bool
	var mux http.ServeMux
	api := httptest.NewServer(&mux)
	t.Cleanup(api.Close)
	mux.HandleFunc("GET /v1beta/operations/{id}", func(w http.ResponseWriter, r *http.Request) {
		uri := api.URL + "/v1beta/files/abc:download?alt=media"
		if r.PathValue("id") == "elsewhere" {
			uri = storage.URL + "/direct.mp4"
		}
		fmt.Fprintf(w, `{"done":true,"response":{"generateVideoResponse":{"generatedSamples":[{"video":{"uri":%q}}]}}}`, uri)
	})
	mux.HandleFunc("GET /v1beta/files/{file}", func(w http.ResponseWriter, r *http.Request) {
		apiSawKey.Store(r.Header.Get("x-goog-api-key") != "")
		http.Redirect(w, r, storage.URL+"/signed.mp4", http.StatusFound)
	})
	p := directProvider(t, api.URL)

	for _, op := range []string{"operations/redirected", "operations/elsewhere"} {
		storageSawKey.Store(false)
		res, err := p.Poll(context.Background(), op)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		wantVideo(t, res, 1280, 720)
		if storageSawKey.Load() {
			t.Errorf("%s: the other origin received the API key", op)
		}
	}
	if !apiSawKey.Load() {
		t.Error("the API's download route did not receive the key")
	}
}

// TestVideoDownloadThroughAProxyBaseURL: with GEMINI_BASE_URL pointing at a
// proxy, Veo still names the video on Google's origin (here, the fake's
// own). The download must go through the proxy, with the key, as the
// official SDK rebuilds it; the other origin gets no request.
func TestVideoDownloadThroughAProxyBaseURL(t *testing.T) {
	f := newFake(t)
	target, _ := url.Parse(f.URL())
	var proxied atomic.Int32
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/files/") {
			proxied.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	p, _ := newProvider(t, f, func(c *Config) { c.BaseURL = proxy.URL })

	op := start(t, p, video("a coat", 1280, 720))
	res, err := p.Poll(context.Background(), op)
	if err != nil {
		t.Fatalf("Poll: %v", err)
	}
	wantVideo(t, res, 1280, 720)
	if proxied.Load() != 1 {
		t.Errorf("downloads through the proxy = %d, want 1", proxied.Load())
	}
	if got := f.Count(geminifake.RouteDownload); got != 1 {
		t.Errorf("downloads at the API = %d, want 1 (made through the proxy)", got)
	}
	if req, _ := f.Last(geminifake.RouteDownload); req.Header.Get("x-goog-api-key") != f.Key() || !strings.HasSuffix(req.URL, ":download?alt=media") {
		t.Errorf("download request %s without the key", req.URL)
	}
}

// TestVideoOperationErrorCodes maps a finished operation's gRPC code: a
// rate limit and an outage are what a new job may expect, a bad argument is
// ours to fix, anything else is the provider's failure. None of them is
// worth polling again.
func TestVideoOperationErrorCodes(t *testing.T) {
	tests := []struct {
		code     int
		wantKind tryon.FailureKind
		wantLoud bool
	}{
		{8, tryon.FailRateLimited, false},
		{14, tryon.FailUnavailable, false},
		{3, tryon.FailInvalidRequest, true},
		{13, tryon.FailBadResponse, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			f := newFake(t)
			p, logs := newProvider(t, f)
			op := start(t, p, video("a coat "+geminifake.TokenVeoErrorWith(tt.code), 1280, 720))
			res, err := p.Poll(context.Background(), op)
			if res != nil {
				t.Fatal("got a video")
			}
			pe := wantKind(t, err, tt.wantKind)
			if !pe.Final || pe.Retryable() {
				t.Errorf("Final = %v, Retryable = %v: a finished operation must not be polled again", pe.Final, pe.Retryable())
			}
			if !strings.Contains(pe.Detail, fmt.Sprintf("code %d", tt.code)) {
				t.Errorf("Detail %q does not name the code", pe.Detail)
			}
			if loud := strings.Contains(logs.String(), "level=ERROR"); loud != tt.wantLoud {
				t.Errorf("logged at error level = %v, want %v", loud, tt.wantLoud)
			}
		})
	}
}

// TestVideoGenerateStartsANewJobAfterAnOutage: the synchronous path answers
// a job that ended UNAVAILABLE with a new job, within the retry policy.
func TestVideoGenerateStartsANewJobAfterAnOutage(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	_, err := p.Generate(context.Background(), video("a coat "+geminifake.TokenVeoErrorWith(14), 1280, 720))
	wantKind(t, err, tryon.FailUnavailable)
	if got, want := f.Count(geminifake.RoutePredictLongRunning), p.retry.Attempts(); got != want {
		t.Errorf("jobs started = %d, want %d", got, want)
	}
	if got := f.Count(geminifake.RouteOperation); got != p.retry.Attempts() {
		t.Errorf("polls = %d, want one per job: a finished operation is not polled again", got)
	}
}
