package geminifake_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/gemini/geminifake"
)

// The wire format of an operation's :cancel: an empty body answered by an
// empty JSON object; the running operation then polls done with error
// code 1 (CANCELLED); a done one keeps its outcome.
func TestCancelOperation(t *testing.T) {
	s := newServer(t)
	submit := func(prompt string) string {
		status, body := post(t, s, "/v1beta/models/veo-3.0-fast-generate-001:predictLongRunning", s.Key(),
			`{"instances":[{"prompt":"`+prompt+`"}]}`)
		var op struct{ Name string }
		if err := json.Unmarshal(body, &op); status != 200 || err != nil {
			t.Fatalf("submit: %d %s", status, body)
		}
		return op.Name
	}
	poll := func(name string) map[string]any {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+"/v1beta/"+name, nil)
		req.Header.Set("x-goog-api-key", s.Key())
		status, body := do(t, http.DefaultClient, req)
		var op map[string]any
		if err := json.Unmarshal(body, &op); status != 200 || err != nil {
			t.Fatalf("poll: %d %s", status, body)
		}
		return op
	}
	running := submit("walk " + geminifake.TokenVeoPolls(100))
	if status, body := post(t, s, "/v1beta/"+running+":cancel", s.Key(), ""); status != 200 || strings.TrimSpace(string(body)) != "{}" {
		t.Fatalf("cancel: %d %s, want 200 {}", status, body)
	}
	op := poll(running)
	opErr, _ := op["error"].(map[string]any)
	if op["done"] != true || opErr["code"] != float64(1) || op["response"] != nil {
		t.Fatalf("after cancel: %v, want done with error code 1", op)
	}

	done := submit("walk")
	if status, _ := post(t, s, "/v1beta/"+done+":cancel", s.Key(), "{}"); status != 200 {
		t.Fatalf("cancel of a done operation: %d, want 200", status)
	}
	if op := poll(done); op["done"] != true || op["error"] != nil || op["response"] == nil {
		t.Fatalf("a done operation changed on cancel: %v", op)
	}

	for name, c := range map[string]struct {
		path, key, body string
		status          int
	}{
		"wrong key":     {"/v1beta/" + running + ":cancel", "nope", "", 400},
		"unknown":       {"/v1beta/models/veo-3.0-fast-generate-001/operations/nope:cancel", s.Key(), "", 404},
		"not :cancel":   {"/v1beta/" + running + ":stop", s.Key(), "", 404},
		"body not none": {"/v1beta/" + running + ":cancel", s.Key(), `{"name":"x"}`, 400},
	} {
		if status, body := post(t, s, c.path, c.key, c.body); status != c.status || !strings.Contains(string(body), `"error"`) {
			t.Errorf("%s: %d %s, want %d with Google's error body", name, status, body, c.status)
		}
	}
	if n := s.Count(geminifake.RouteCancel); n != 6 {
		t.Errorf("Count(RouteCancel) = %d, want 6", n)
	}
}
