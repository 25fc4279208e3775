package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/httpapi"
	"github.com/tryonhq/tryon/pkg/inputimage"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestGenerateGivesBackItsBodyBudget sends POST /generate bodies large
// enough to be admitted through the body budget, answered 200, 400 and
// 400: each gives its share back (a leak would end in every large request
// being refused), and the answers are the ones the API always gave.
func TestGenerateGivesBackItsBodyBudget(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	photo := inputimage.LargePhotoJPEG(640, 480, 95, 7)
	if len(photo) < 48<<10 {
		t.Fatalf("the photo is %d bytes: too small to make a large body", len(photo))
	}
	dataURL := func(b []byte) string { return "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(b) }
	body := func(person, garment string) string {
		return fmt.Sprintf(`{"prompt":"the garment on the person","width":256,"height":256,"person_image":%q,"garment_image":%q}`, person, garment)
	}
	cases := []struct {
		name   string
		body   string
		status int
		field  string
	}{
		{"Photos", body(dataURL(photo), dataURL(photo)), 200, ""},
		{"TruncatedGarment", body(dataURL(photo), dataURL(photo[:len(photo)/2])), 400, "garment_image"},
		{"BrokenBase64", body(dataURL(photo), "data:image/jpeg;base64,"+base64.StdEncoding.EncodeToString(photo)[1:]), 400, "garment_image"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := env.Do(http.MethodPost, "/generate", shop.TestKey, tc.body)
			if r.Status != tc.status || (tc.field != "" && (len(r.Details) != 1 || r.Details[0].Field != tc.field)) {
				t.Fatalf("got %d %s, want %d naming %q", r.Status, r.Body[:min(len(r.Body), 400)], tc.status, tc.field)
			}
			release, ok := httpapi.FillBodyBudget()
			if !ok {
				t.Fatal("the request kept part of the body budget")
			}
			release()
		})
	}
}

// TestGenerateRefusesALargeBodyWithNoRoom fills the body budget: a large
// POST /generate whose time runs out waiting is 503 unavailable with
// Retry-After, counted against the rate limit like any request, and
// nothing is recorded; a small one is served meanwhile.
func TestGenerateRefusesALargeBodyWithNoRoom(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	release, ok := httpapi.FillBodyBudget()
	if !ok {
		t.Fatal("the body budget is not free")
	}
	defer release()
	photo := inputimage.LargePhotoJPEG(640, 480, 95, 7)
	url := "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(photo)
	big := fmt.Sprintf(`{"prompt":"a","person_image":%q,"garment_image":%q}`, url, url)
	// The platform's deadline has passed: the request has no time to wait.
	past := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
	r := env.Do(http.MethodPost, "/generate", shop.TestKey, big, "X-Vercel-Internal-Deadline", past)
	if r.Status != 503 || r.Code != tryon.CodeUnavailable {
		t.Fatalf("got %d %s, want 503 unavailable", r.Status, r.Body)
	}
	// Refused before its body was read, not later by the decode budget
	// (whose own wait would refuse it too, with the deadline passed).
	if !strings.Contains(string(r.Body), "busy reading other large requests") {
		t.Fatalf("refused by %s, want the body budget", r.Body)
	}
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	if rl := r.Header.Get("RateLimit"); rl == "" || rl == `"minute";r=0;t=0` {
		t.Fatalf("RateLimit %q: the refused request was not counted", rl)
	}
	small := env.Do(http.MethodPost, "/generate", shop.TestKey, `{"prompt":"a dress","width":64,"height":64}`)
	if small.Status != 200 {
		t.Fatalf("a small request while the budget is full: %d %s", small.Status, small.Body)
	}
	list := env.Do(http.MethodGet, "/generations", shop.TestKey, nil)
	var page struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(list.Data, &page); err != nil || len(page.Items) != 1 {
		t.Fatalf("generations: %s, want the small request's only", list.Data)
	}
}

// TestGenerateGivesBackItsBodyBudgetBeforeTheProviderWorks sends a large
// live POST /generate to a provider (a Gemini endpoint) that looks at the
// body budget while it is called: the request's share is back by then,
// once its images are normalised, not only when it answers.
func TestGenerateGivesBackItsBodyBudgetBeforeTheProviderWorks(t *testing.T) {
	free := make(chan bool, 4)
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		release, ok := httpapi.FillBodyBudget()
		if ok {
			release()
		}
		free <- ok
		// A refusal that is not retried ends the generation at once.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"code":400,"message":"stop here","status":"INVALID_ARGUMENT"}}`))
	}))
	defer provider.Close()
	env := apptest.New(t, apptest.Options{Settings: map[string]string{
		"PROVIDER_BANANA": "gemini", "GEMINI_API_KEY": "test-key", "GEMINI_BASE_URL": provider.URL,
	}})
	shop := env.Tenant(apptest.TenantOptions{})
	photo := inputimage.LargePhotoJPEG(640, 480, 95, 7)
	url := "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(photo)
	r := env.Do(http.MethodPost, "/generate", shop.LiveKey,
		fmt.Sprintf(`{"prompt":"a","service":"banana","person_image":%q,"garment_image":%q}`, url, url))
	if r.Status < 400 {
		t.Fatalf("got %d %s, want the provider's refusal", r.Status, r.Body)
	}
	select {
	case ok := <-free:
		if !ok {
			t.Fatal("the request held its share of the body budget while the provider worked")
		}
	default:
		t.Fatalf("the provider was never called: %d %s", r.Status, r.Body)
	}
}
