package falfake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/media"
)

// post sends body to endpoint with the given key and decodes the JSON answer.
func post(t *testing.T, s *Server, endpoint, key, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/"+endpoint, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Key "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("decode answer (HTTP %d): %v", resp.StatusCode, err)
	}
	return resp.StatusCode, m
}

func TestAuth(t *testing.T) {
	s := New()
	defer s.Close()
	for _, key := range []string{"", "wrong:key"} {
		status, m := post(t, s, "fal-ai/nano-banana", key, `{"prompt": "a cat"}`)
		if status != http.StatusUnauthorized || m["detail"] != "No user found for Key ID and Secret" {
			t.Errorf("key %q: HTTP %d %v, want 401 with fal's detail", key, status, m)
		}
	}
	if got := s.Calls("fal-ai/nano-banana"); got != 2 {
		t.Errorf("Calls = %d, want 2 (failed calls count too)", got)
	}
}

func TestSuccessServesRealPNG(t *testing.T) {
	s := New()
	defer s.Close()
	status, m := post(t, s, "fal-ai/nano-banana-pro", s.Key, `{"prompt": "a cat", "aspect_ratio": "16:9", "num_images": 2}`)
	if status != http.StatusOK {
		t.Fatalf("HTTP %d %v, want 200", status, m)
	}
	images, _ := m["images"].([]any)
	if len(images) != 2 {
		t.Fatalf("images = %v, want 2", m["images"])
	}
	first, _ := images[0].(map[string]any)
	url, _ := first["url"].(string)
	if !strings.HasPrefix(url, s.URL()+"/files/") {
		t.Fatalf("url = %q, want one under %s/files/", url, s.URL())
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	info, ok := media.Sniff(data)
	if !ok || info.ContentType != media.PNG || info.Width != 1376 || info.Height != 768 {
		t.Errorf("file sniffs as %+v (ok %v), want a 1376x768 PNG", info, ok)
	}
	if first["width"] != float64(1376) || first["content_type"] != "image/png" || first["file_size"] != float64(len(data)) {
		t.Errorf("file object = %v, does not describe the file", first)
	}
	if s.FileRequests() != 1 {
		t.Errorf("FileRequests = %d, want 1", s.FileRequests())
	}
}

func TestEditAutoFollowsLastInput(t *testing.T) {
	s := New()
	defer s.Close()
	// A 2x3 portrait as the last input should give the 2:3 size.
	portrait := render(2, 3, "p", 0, "png")
	body, _ := json.Marshal(map[string]any{
		"prompt":     "try on",
		"image_urls": []string{"https://example.com/a.png", "data:image/png;base64," + base64.StdEncoding.EncodeToString(portrait)},
	})
	status, m := post(t, s, "fal-ai/nano-banana/edit", s.Key, string(body))
	if status != http.StatusOK {
		t.Fatalf("HTTP %d %v", status, m)
	}
	img := m["images"].([]any)[0].(map[string]any)
	if img["width"] != float64(832) || img["height"] != float64(1248) {
		t.Errorf("size = %vx%v, want 832x1248", img["width"], img["height"])
	}
}

func TestValidation(t *testing.T) {
	s := New()
	defer s.Close()
	for _, tc := range []struct {
		name, endpoint, body, loc string
	}{
		{"ErrPromptMissing", "fal-ai/nano-banana", `{}`, "body.prompt"},
		{"ErrImageURLsMissing", "fal-ai/nano-banana/edit", `{"prompt": "x"}`, "body.image_urls"},
		{"ErrImageURLScheme", "fal-ai/nano-banana/edit", `{"prompt": "x", "image_urls": ["ftp://x"]}`, "body.image_urls.0"},
		{"ErrBadDataURI", "fal-ai/nano-banana/edit", `{"prompt": "x", "image_urls": ["data:image/png;base64,!!"]}`, "body.image_urls.0"},
		{"ErrAspectRatio", "fal-ai/nano-banana", `{"prompt": "x", "aspect_ratio": "7:3"}`, "body.aspect_ratio"},
		{"ErrNumImages", "fal-ai/nano-banana", `{"prompt": "x", "num_images": 9}`, "body.num_images"},
		{"ErrOutputFormat", "fal-ai/nano-banana", `{"prompt": "x", "output_format": "gif"}`, "body.output_format"},
		{"ErrNotJSON", "fal-ai/nano-banana", `prompt=x`, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, m := post(t, s, tc.endpoint, s.Key, tc.body)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("HTTP %d, want 422", status)
			}
			items, _ := m["detail"].([]any)
			if len(items) == 0 {
				t.Fatalf("detail = %v, want a list", m["detail"])
			}
			var locs []string
			for _, it := range items {
				var parts []string
				for _, l := range it.(map[string]any)["loc"].([]any) {
					b, _ := json.Marshal(l)
					parts = append(parts, strings.Trim(string(b), `"`))
				}
				locs = append(locs, strings.Join(parts, "."))
			}
			if !slices.Contains(locs, tc.loc) {
				t.Errorf("error locations = %v, want %q", locs, tc.loc)
			}
		})
	}
}

func TestScenarioOf(t *testing.T) {
	for prompt, want := range map[string]Scenario{
		"a plain dress":                    Normal,
		"[fal:503] then [fal:401]":         Unavailable,
		"a dress [fal:content_policy]":     ContentPolicy,
		"[fal:unknown] a dress":            Normal,
		"a dress [fal:401][fal:no_images]": Unauthorized,
	} {
		if got := ScenarioOf(prompt); got != want {
			t.Errorf("ScenarioOf(%q) = %q, want %q", prompt, got, want)
		}
	}
}

func TestUnknownPath(t *testing.T) {
	s := New()
	defer s.Close()
	status, m := post(t, s, "fal-ai/flux/dev", s.Key, `{"prompt": "x"}`)
	if status != http.StatusNotFound || m["detail"] == nil {
		t.Errorf("HTTP %d %v, want 404 with a detail", status, m)
	}
	resp, err := http.Get(s.URL() + "/files/nothing.png")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing file: HTTP %d, want 404", resp.StatusCode)
	}
}

func TestLastRequestIsACopy(t *testing.T) {
	s := New()
	defer s.Close()
	post(t, s, "fal-ai/nano-banana", s.Key, `{"prompt": "first"}`)
	got := s.LastRequest()
	got.Body[0] = 'X'
	if again := s.LastRequest(); !bytes.HasPrefix(again.Body, []byte(`{"prompt"`)) {
		t.Errorf("LastRequest body changed through a copy: %s", again.Body)
	}
	if got.Endpoint != "fal-ai/nano-banana" || got.Authorization != "Key "+s.Key {
		t.Errorf("LastRequest = %+v", got)
	}
}
