package generation_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/postgres"
)

// sweepDue makes every pending delivery due and runs the cron sweep.
func sweepDue(t *testing.T, env *apptest.Env) {
	t.Helper()
	if _, err := env.Store.Pool().Exec(context.Background(), `UPDATE webhook_deliveries SET next_attempt_at = now() WHERE status = 'pending'`); err != nil {
		t.Fatal(err)
	}
	if r := env.Do(http.MethodGet, "/api/cron", "", nil, "Authorization", "Bearer test-cron-secret"); r.Status != 200 {
		t.Fatalf("cron: %d %s", r.Status, r.Body)
	}
}

// onlyDelivery returns the one delivery of a generation.
func onlyDelivery(t *testing.T, env *apptest.Env, generationID string) postgres.DeliveryState {
	t.Helper()
	ds, err := env.Store.ListDeliveries(context.Background(), uuid.MustParse(generationID))
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries: %v %+v", err, ds)
	}
	return ds[0]
}

// pendingDelivery makes a tenant whose endpoint always fails and a
// generation whose delivery is therefore pending after its first attempt.
func pendingDelivery(t *testing.T) (*apptest.Env, *apptest.Tenant, *receiver, string) {
	t.Helper()
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	rc := &receiver{failFirst: 1000}
	withWebhook(t, env, shop.Client.ID, rc)
	g := env.Generate(shop.TestKey, map[string]any{"prompt": "a hat"}).Generation(t)
	if d := onlyDelivery(t, env, g.ID); d.Status != "pending" || d.Attempts != 1 {
		t.Fatalf("after the failed first attempt: %+v", d)
	}
	return env, shop, rc, g.ID
}

func TestPendingDeliveriesFollowTheCurrentEndpoint(t *testing.T) {
	env, shop, old, id := pendingDelivery(t)

	// The tenant moves its endpoint (and so its secret) while a retry is due.
	moved := &receiver{}
	withWebhook(t, env, shop.Client.ID, moved)
	sweepDue(t, env)

	if d := onlyDelivery(t, env, id); d.Status != "delivered" || d.Attempts != 2 {
		t.Fatalf("after the retry: %+v", d)
	}
	old.mu.Lock()
	defer old.mu.Unlock()
	moved.mu.Lock()
	defer moved.mu.Unlock()
	if old.calls != 1 || moved.calls != 1 || moved.bad != 0 || len(moved.events) != 1 {
		t.Fatalf("old endpoint: %d calls; new endpoint: %d calls, %d with a bad signature: the retry must go to the new URL signed with the new secret",
			old.calls, moved.calls, moved.bad)
	}
}

func TestRemovingTheWebhookCancelsPendingDeliveries(t *testing.T) {
	env, shop, rc, id := pendingDelivery(t)
	if _, err := env.Store.ChangeClient(context.Background(), shop.Client.ID, postgres.ClientChange{
		Webhook: &postgres.Webhook{}, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	sweepDue(t, env)
	sweepDue(t, env)
	d := onlyDelivery(t, env, id)
	if d.Status != "failed" || d.Attempts != 1 || d.LastError == nil || *d.LastError != postgres.DeliveryCancelled {
		t.Fatalf("after removal and two sweeps: %+v (last error %v)", d, deref(d.LastError))
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.calls != 1 {
		t.Fatalf("the removed endpoint was called %d times, want only the first attempt", rc.calls)
	}
}

// TestTheInlineDeliveryIsShort: a receiver that never answers holds the
// POST /generate answer for the inline bound at most, not WEBHOOK_TIMEOUT;
// the delivery stays pending for the sweep.
func TestTheInlineDeliveryIsShort(t *testing.T) {
	env := apptest.New(t, apptest.Options{Settings: map[string]string{"WEBHOOK_TIMEOUT": "60s", "INPUT_FETCH_TIMEOUT": "60s"}})
	shop := env.Tenant(apptest.TenantOptions{})
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hanging.Close)
	t.Cleanup(func() { close(release) })
	rc := &receiver{}
	withWebhook(t, env, shop.Client.ID, rc)
	if _, err := env.Store.Pool().Exec(context.Background(), `UPDATE clients SET webhook_url = $2 WHERE id = $1`,
		shop.Client.ID, hanging.URL+"/hooks"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := env.Generate(shop.TestKey, map[string]any{"prompt": "a hat"})
	if elapsed := time.Since(start); r.Status != 200 || elapsed >= 30*time.Second {
		t.Fatalf("answered %d after %s: the inline delivery waited for WEBHOOK_TIMEOUT (60s)", r.Status, elapsed)
	}
	if d := onlyDelivery(t, env, r.Generation(t).ID); d.Status != "pending" || d.Attempts != 1 {
		t.Fatalf("after the cut-short attempt: %+v", d)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
