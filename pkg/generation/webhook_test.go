package generation_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/webhook"
)

// receiver is a tenant's webhook endpoint that checks every signature with
// the same code a tenant would use.
type receiver struct {
	secret string
	mu     sync.Mutex
	events []map[string]any
	ids    []string
	// failFirst makes the first n deliveries answer 500.
	failFirst int
	calls     int
	bad       int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.calls++
	if err := webhook.Verify(rc.secret, r.Header, body, time.Now(), time.Minute); err != nil {
		rc.bad++
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if rc.calls <= rc.failFirst {
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
		return
	}
	var ev map[string]any
	_ = json.Unmarshal(body, &ev)
	rc.events = append(rc.events, ev)
	rc.ids = append(rc.ids, r.Header.Get("webhook-id"))
}

func withWebhook(t *testing.T, env *apptest.Env, client uuid.UUID, rc *receiver) {
	t.Helper()
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	rc.secret = secret
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	if _, err := env.Store.ChangeClient(context.Background(), client, postgres.ClientChange{
		Webhook: &postgres.Webhook{URL: srv.URL + "/hooks/tryon", Secret: secret}, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
}

func TestWebhooksAreSignedAndSentByTheFinisher(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	rc := &receiver{}
	withWebhook(t, env, shop.Client.ID, rc)
	ok := env.Generate(shop.TestKey, map[string]any{"prompt": "a hat"}).Generation(t)
	failed := env.Generate(shop.TestKey, map[string]any{"prompt": "a hat [fake:blocked]"}).Generation(t)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.bad != 0 || len(rc.events) != 2 {
		t.Fatalf("%d events, %d with bad signatures", len(rc.events), rc.bad)
	}
	for i, want := range []struct{ typ, id string }{{"generation.succeeded", ok.ID}, {"generation.failed", failed.ID}} {
		ev := rc.events[i]
		data, _ := ev["data"].(map[string]any)
		if ev["type"] != want.typ || data["id"] != want.id || ev["timestamp"] == nil {
			t.Fatalf("event %d: %v", i, ev)
		}
	}
	if rc.ids[0] == rc.ids[1] {
		t.Fatal("two events share a webhook-id")
	}
}

func TestFailedDeliveriesAreRetriedByTheSweep(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	rc := &receiver{failFirst: 2}
	withWebhook(t, env, shop.Client.ID, rc)
	g := env.Generate(shop.TestKey, map[string]any{"prompt": "a hat"}).Generation(t)
	deliveries := func() postgres.DeliveryState { return onlyDelivery(t, env, g.ID) }
	if d := deliveries(); d.Status != "pending" || d.Attempts != 1 || *d.LastStatus != 500 {
		t.Fatalf("after the first attempt: %+v", d)
	}
	sweep := func() { sweepDue(t, env) } // the backoff has passed: the delivery is due
	sweep()
	if d := deliveries(); d.Status != "pending" || d.Attempts != 2 {
		t.Fatalf("after the second attempt: %+v", d)
	}
	sweep()
	if d := deliveries(); d.Status != "delivered" || d.Attempts != 3 {
		t.Fatalf("after the third attempt: %+v", d)
	}
	sweep()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.calls != 3 || len(rc.events) != 1 || rc.bad != 0 {
		t.Fatalf("%d calls, %d accepted, %d bad: a delivered webhook was sent again or a signature failed", rc.calls, len(rc.events), rc.bad)
	}
}

func TestWebhookURLsAreGuarded(t *testing.T) {
	env := apptest.New(t, apptest.Options{StrictURLGuard: true})
	shop := env.Tenant(apptest.TenantOptions{})
	rc := &receiver{}
	withWebhook(t, env, shop.Client.ID, rc) // a loopback URL, refused at delivery
	g := env.Generate(shop.TestKey, map[string]any{"prompt": "a hat"}).Generation(t)
	ds, _ := env.Store.ListDeliveries(context.Background(), uuid.MustParse(g.ID))
	if rc.calls != 0 || len(ds) != 1 || ds[0].Status != "failed" || ds[0].Attempts != 1 || ds[0].LastError == nil {
		t.Fatalf("a private webhook URL was called (%d), or the refusal not recorded as final: %+v", rc.calls, ds)
	}
}
