package app

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMisconfiguredDeploymentAnswersInTheEnvelope runs Serve as a function
// instance would with no DATABASE_URL: the caller gets a 500 envelope that
// names nothing secret.
func TestMisconfiguredDeploymentAnswersInTheEnvelope(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("GEMINI_API_KEY", "")
	rec := httptest.NewRecorder()
	Serve("health", rec, httptest.NewRequest(http.MethodGet, "/health", nil))
	var body struct {
		Success   bool   `json:"success"`
		Code      string `json:"code"`
		Error     string `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 500 || body.Success || body.Code != "internal" || body.RequestID == "" || rec.Header().Get("X-Request-Id") != body.RequestID {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "DATABASE_URL") {
		t.Fatalf("the answer names the configuration: %s", rec.Body)
	}
}
