package gemini

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/gemini/geminifake"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Cancel sends operations/{id}:cancel with the key in the header and no
// body; the running operation then polls as done with CANCELLED, a final
// failure.
func TestCancelStopsARunningOperation(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	op := start(t, p, video("a coat "+geminifake.TokenVeoPolls(100), 1280, 720))
	if res, err := p.Poll(context.Background(), op); res != nil || err != nil {
		t.Fatalf("before cancel: %v %v, want running", res, err)
	}
	if err := p.Cancel(context.Background(), op); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	req, ok := f.Last(geminifake.RouteCancel)
	name, _, _ := strings.Cut(op, "#")
	if !ok || req.Method != http.MethodPost || req.URL != "/v1beta/"+name+":cancel" || len(req.Body) != 0 ||
		req.Header.Get("X-Goog-Api-Key") != f.Key() || strings.Contains(req.URL, "key=") {
		t.Fatalf("cancel request %+v", req)
	}
	_, err := p.Poll(context.Background(), op)
	if pe := providerError(t, err); !pe.Final || pe.Retryable() || !strings.Contains(pe.Detail, "code 1") {
		t.Fatalf("poll after cancel: %+v, want a final failure with code 1", pe)
	}
	// Again, and on a finished operation: still answered, as upstream.
	if err := p.Cancel(context.Background(), op); err != nil {
		t.Fatalf("second Cancel: %v", err)
	}
}

// A cancel the API refuses is a classified error, and a name that is not
// a Veo operation is refused before any request.
func TestCancelFailures(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	err := p.Cancel(context.Background(), "models/veo-3.0-fast-generate-001/operations/nope#16:9")
	if pe := wantKind(t, err, tryon.FailInvalidRequest); pe.Status != http.StatusNotFound {
		t.Fatalf("unknown operation: %+v", pe)
	}
	before := f.Count(geminifake.RouteCancel)
	wantKind(t, p.Cancel(context.Background(), "../../v1beta/files/x"), tryon.FailInvalidRequest)
	if f.Count(geminifake.RouteCancel) != before {
		t.Fatal("a bad operation name reached the API")
	}
	op := start(t, p, video("a coat "+geminifake.TokenVeoPolls(100), 1280, 720))
	bad, _ := newProvider(t, f, func(c *Config) { c.APIKey = "wrong-key" })
	if pe := wantKind(t, bad.Cancel(context.Background(), op), tryon.FailAuth); strings.Contains(pe.Error(), "wrong-key") {
		t.Fatalf("the key leaked into the error: %v", pe)
	}
}
