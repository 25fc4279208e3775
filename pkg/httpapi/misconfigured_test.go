package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/httpapi"
)

func TestMisconfiguredAnswersInTheEnvelopeAndLogsTheCause(t *testing.T) {
	var logs bytes.Buffer
	h := httpapi.Misconfigured(errors.New("DATABASE_URL is required"), slog.New(slog.NewJSONHandler(&logs, nil)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/generate/x", nil))
	var body struct {
		Success   bool   `json:"success"`
		Code      string `json:"code"`
		Error     string `json:"error"`
		Timestamp string `json:"timestamp"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 500 || body.Success || body.Code != "internal" || body.Timestamp == "" || body.RequestID == "" ||
		rec.Header().Get("X-Request-Id") != body.RequestID || rec.Header().Get("Server-Timing") == "" {
		t.Fatalf("got %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	if strings.Contains(rec.Body.String(), "DATABASE_URL") {
		t.Fatalf("the answer names the configuration: %s", rec.Body)
	}
	if !strings.Contains(logs.String(), "DATABASE_URL is required") || !strings.Contains(logs.String(), body.RequestID) ||
		!strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Fatalf("the log line does not hold the cause under the request id:\n%s", logs.String())
	}
}
