package generation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/blob/blobfake"
	"github.com/tryonhq/tryon/pkg/fake"
	"github.com/tryonhq/tryon/pkg/gemini/geminifake"
	"github.com/tryonhq/tryon/pkg/syncbuffer"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// cancelGeneration posts POST /generate/:id/cancel.
func cancelGeneration(env *apptest.Env, key, id string) *apptest.Response {
	return env.Do(http.MethodPost, "/generate/"+id+"/cancel", key, nil)
}

// deliveryEvents lists a generation's webhook deliveries by event.
func deliveryEvents(t *testing.T, env *apptest.Env, id string) []string {
	t.Helper()
	ds, err := env.Store.ListDeliveries(context.Background(), uuid.MustParse(id))
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, d := range ds {
		events = append(events, d.Event+":"+d.Status)
	}
	return events
}

func countAssets(t *testing.T, env *apptest.Env) int {
	t.Helper()
	var n int
	if err := env.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM assets`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A processing Veo job canceled by its tenant: the operation is canceled
// upstream (the fake Gemini API receives operations/{id}:cancel), the
// reservation is released so a prepaid balance is whole, nothing is
// charged, the generation says canceled, a signed generation.canceled
// webhook arrives, and neither a GET nor the cron sweep revives it.
func TestCancelProcessingVideo(t *testing.T) {
	env, gem := geminiEnv(t, nil)
	balance := tryon.Micros(5_000_000)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance})
	rc := &receiver{}
	withWebhook(t, env, shop.Client.ID, rc)

	r := env.Generate(shop.LiveKey, map[string]any{"prompt": "a coat turning " + geminifake.TokenVeoPolls(1000), "service": "veo3"},
		"Prefer", "wait=0")
	job := r.Generation(t)
	if r.Status != 202 || job.Status != "processing" {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	if l := readLedger(t, env, shop.Client.ID); l.reserved != 1_200_000 {
		t.Fatalf("the job does not hold its reservation: %+v", l)
	}

	c := cancelGeneration(env, shop.LiveKey, job.ID)
	g := c.Generation(t)
	if c.Status != 200 || !c.Success || g.ID != job.ID || g.Status != "canceled" || g.CostMicros != 0 || g.Output != nil ||
		g.Error != nil || g.CompletedAt == nil {
		t.Fatalf("cancel: %d %s", c.Status, c.Body)
	}
	if c.Header.Get("RateLimit") == "" {
		t.Errorf("the cancel's answer has no RateLimit header: %v", c.Header)
	}

	// Upstream: one :cancel of the job's own operation, with the key in
	// the header and an empty body.
	if n := gem.Count(geminifake.RouteCancel); n != 1 {
		t.Fatalf("%d upstream cancels, want 1", n)
	}
	req, _ := gem.Last(geminifake.RouteCancel)
	if req.Method != http.MethodPost || !strings.HasPrefix(req.URL, "/v1beta/models/veo-3.0-fast-generate-001/operations/") ||
		!strings.HasSuffix(req.URL, ":cancel") || len(req.Body) != 0 || req.Header.Get("X-Goog-Api-Key") != geminifake.DefaultKey {
		t.Fatalf("upstream cancel request: %s %s %q", req.Method, req.URL, req.Body)
	}

	// Money: the reservation is gone, nothing was charged.
	if l := readLedger(t, env, shop.Client.ID); l.reserved != 0 || l.charged != 0 || l.usageRows != 0 || l.processing != 0 ||
		l.balance == nil || *l.balance != int64(balance) {
		t.Fatalf("after cancel: %+v, want the balance whole and nothing reserved", l)
	}

	// The webhook, signed, with the canceled generation.
	rc.mu.Lock()
	if rc.bad != 0 || len(rc.events) != 1 {
		rc.mu.Unlock()
		t.Fatalf("%d events, %d badly signed", len(rc.events), rc.bad)
	}
	ev := rc.events[0]
	rc.mu.Unlock()
	data, _ := ev["data"].(map[string]any)
	if ev["type"] != "generation.canceled" || data["id"] != job.ID || data["status"] != "canceled" {
		t.Fatalf("webhook event %v", ev)
	}

	// Idempotent: the same answer, no second upstream cancel or webhook.
	again := cancelGeneration(env, shop.LiveKey, job.ID)
	if g2 := again.Generation(t); again.Status != 200 || g2.Status != "canceled" || *g2.CompletedAt != *g.CompletedAt {
		t.Fatalf("second cancel: %d %s", again.Status, again.Body)
	}
	if n := gem.Count(geminifake.RouteCancel); n != 1 {
		t.Fatalf("the second cancel reached the provider: %d cancels", n)
	}
	if events := deliveryEvents(t, env, job.ID); len(events) != 1 {
		t.Fatalf("deliveries %v, want one", events)
	}

	// Neither polling nor the sweep revives it.
	polls := gem.Count(geminifake.RouteOperation)
	if got := env.Do(http.MethodGet, "/generate/"+job.ID, shop.LiveKey, nil).Generation(t); got.Status != "canceled" {
		t.Fatalf("GET after cancel: %+v", got)
	}
	sweepDue(t, env)
	if got := env.Do(http.MethodGet, "/generate/"+job.ID, shop.LiveKey, nil).Generation(t); got.Status != "canceled" || got.CostMicros != 0 {
		t.Fatalf("after the sweep: %+v", got)
	}
	if n := gem.Count(geminifake.RouteOperation); n != polls {
		t.Fatalf("the canceled operation was polled %d more times", n-polls)
	}
	if l := readLedger(t, env, shop.Client.ID); l.charged != 0 || l.usageRows != 0 || *l.balance != int64(balance) {
		t.Fatalf("after the sweep: %+v", l)
	}

	// The listing filters on it, and the metrics count it as failed.
	list := env.Do(http.MethodGet, "/generations?status=canceled", shop.LiveKey, nil)
	var page struct {
		Items []apptest.Generation `json:"items"`
	}
	if err := json.Unmarshal(list.Data, &page); err != nil || list.Status != 200 || len(page.Items) != 1 || page.Items[0].ID != job.ID {
		t.Fatalf("?status=canceled: %d %s", list.Status, list.Body)
	}
	m := env.Do(http.MethodGet, "/metrics", shop.LiveKey, nil)
	var metrics struct {
		Totals struct {
			Generations, Succeeded, Failed, Processing int64
			CostMicros                                 int64 `json:"cost_micros"`
		} `json:"totals"`
	}
	if err := json.Unmarshal(m.Data, &metrics); err != nil || metrics.Totals.Generations != 1 || metrics.Totals.Failed != 1 ||
		metrics.Totals.Processing != 0 || metrics.Totals.CostMicros != 0 {
		t.Fatalf("metrics %+v (%v)", metrics.Totals, err)
	}
}

// A test key's video runs on the fake provider, which is told too.
func TestCancelTestModeVideoCancelsTheFakeOperation(t *testing.T) {
	env := apptest.New(t, apptest.Options{Settings: map[string]string{"FAKE_VIDEO_LATENCY": "1h"}})
	shop := env.Tenant(apptest.TenantOptions{})
	job := env.Generate(shop.TestKey, map[string]any{"prompt": "a walk", "service": "veo3"}, "Prefer", "wait=0").Generation(t)
	if job.Status != "processing" {
		t.Fatalf("start: %+v", job)
	}
	if c := cancelGeneration(env, shop.TestKey, job.ID); c.Status != 200 || c.Generation(t).Status != "canceled" {
		t.Fatalf("cancel: %d %s", c.Status, c.Body)
	}
	var op string
	if err := env.Store.Pool().QueryRow(context.Background(), `SELECT operation FROM generations WHERE id = $1`, job.ID).Scan(&op); err != nil {
		t.Fatal(err)
	}
	fk, ok := env.App.Runner.Providers.Test.(*fake.Provider)
	if !ok {
		t.Fatalf("the test provider is %T", env.App.Runner.Providers.Test)
	}
	if !fk.Canceled(op) {
		t.Fatal("the fake provider's operation was not canceled")
	}
}

// A finished generation cannot be canceled: 409 generation_finished, with
// the generation as it is, unchanged.
func TestCancelFinishedIsConflict(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	ok := env.Generate(shop.LiveKey, map[string]any{"prompt": "a hat"}).Generation(t)
	failed := env.Generate(shop.LiveKey, map[string]any{"prompt": "a hat [fake:blocked]"}).Generation(t)
	for _, g := range []apptest.Generation{ok, failed} {
		r := cancelGeneration(env, shop.LiveKey, g.ID)
		if r.Status != 409 || r.Code != tryon.CodeGenerationFinished || r.Success {
			t.Fatalf("cancel %s: %d %s", g.Status, r.Status, r.Body)
		}
		if got := r.Generation(t); got.ID != g.ID || got.Status != g.Status || got.CostMicros != g.CostMicros {
			t.Fatalf("cancel %s changed it: %s", g.Status, r.Body)
		}
	}
	if l := readLedger(t, env, shop.Client.ID); l.charged != 40_000 || l.usageRows != 40_000 {
		t.Fatalf("ledger %+v: the success must stay billed", l)
	}
}

// Another tenant's generation, an unknown id and a malformed one are all
// 404; an admin key may not cancel; the route answers 405 with Allow to
// other methods and a preflight to OPTIONS.
func TestCancelAccess(t *testing.T) {
	env := apptest.New(t, apptest.Options{Settings: map[string]string{"FAKE_VIDEO_LATENCY": "1h", "CORS_ALLOWED_ORIGINS": "https://shop.example"}})
	shop := env.Tenant(apptest.TenantOptions{})
	other := env.Tenant(apptest.TenantOptions{})
	job := env.Generate(shop.TestKey, map[string]any{"prompt": "a walk", "service": "veo3"}, "Prefer", "wait=0").Generation(t)
	for name, r := range map[string]*apptest.Response{
		"other tenant": cancelGeneration(env, other.TestKey, job.ID),
		"unknown id":   cancelGeneration(env, shop.TestKey, uuid.NewString()),
		"malformed id": cancelGeneration(env, shop.TestKey, "not-an-id"),
	} {
		if r.Status != 404 || r.Code != tryon.CodeNotFound || len(r.Data) != 0 && string(r.Data) != "null" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if r := cancelGeneration(env, env.Key(nil, tryon.KeyAdmin, nil), job.ID); r.Status != 403 {
		t.Errorf("admin key: %d %s", r.Status, r.Body)
	}
	if r := cancelGeneration(env, "", job.ID); r.Status != 401 {
		t.Errorf("no key: %d %s", r.Status, r.Body)
	}
	if r := env.Do(http.MethodGet, "/generate/"+job.ID+"/cancel", shop.TestKey, nil); r.Status != 405 || r.Header.Get("Allow") != "POST, OPTIONS" {
		t.Errorf("GET: %d %v", r.Status, r.Header)
	}
	pre := env.Do(http.MethodOptions, "/generate/"+job.ID+"/cancel", "", nil,
		"Origin", "https://shop.example", "Access-Control-Request-Method", "POST")
	if pre.Status != 204 || pre.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" ||
		pre.Header.Get("Access-Control-Allow-Methods") != "POST, OPTIONS" {
		t.Errorf("preflight: %d %v", pre.Status, pre.Header)
	}
	if got := env.Do(http.MethodGet, "/generate/"+job.ID, shop.TestKey, nil).Generation(t); got.Status != "processing" {
		t.Fatalf("a refused cancel changed the job: %+v", got)
	}
}

// gate holds a fake Gemini API's generateContent calls: each one announces
// itself on arrived and waits for release, then geminifake answers it. It
// lets a test act while an image request is in the provider's hands,
// without sleeping.
type gate struct {
	arrived chan struct{}
	release chan struct{}
}

// heldGeminiEnv is geminiEnv with a gate in front of generateContent.
func heldGeminiEnv(t *testing.T, capacity int, settings map[string]string) (*apptest.Env, *geminifake.Server, *gate) {
	t.Helper()
	gem := geminifake.New()
	t.Cleanup(gem.Close)
	target, err := url.Parse(gem.URL())
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{arrived: make(chan struct{}, capacity), release: make(chan struct{})}
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ":generateContent") {
			g.arrived <- struct{}{}
			<-g.release
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	t.Cleanup(func() {
		select {
		case <-g.release:
		default:
			close(g.release)
		}
	})
	all := map[string]string{"PROVIDER_BANANA": "gemini", "GEMINI_API_KEY": geminifake.DefaultKey, "GEMINI_BASE_URL": front.URL}
	for k, v := range settings {
		all[k] = v
	}
	return apptest.New(t, apptest.Options{Settings: all}), gem, g
}

// answer is an API response read by a goroutine (no t.Fatal there).
type answer struct {
	status int
	header http.Header
	body   []byte
	gen    apptest.Generation
	code   tryon.Code
	err    error
}

// send makes a request from a goroutine and delivers its answer.
func send(env *apptest.Env, method, path, key string, body any) <-chan answer {
	out := make(chan answer, 1)
	go func() {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, env.URL+path, rd)
		if err != nil {
			out <- answer{err: err}
			return
		}
		req.Header.Set("X-Client-Key", key)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := env.Client.Do(req)
		if err != nil {
			out <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		a := answer{status: resp.StatusCode, header: resp.Header}
		a.body, a.err = io.ReadAll(resp.Body)
		var env struct {
			Data json.RawMessage `json:"data"`
			Code tryon.Code      `json:"code"`
		}
		if a.err == nil {
			a.err = json.Unmarshal(a.body, &env)
		}
		a.code = env.Code
		if a.err == nil && len(env.Data) > 0 && string(env.Data) != "null" {
			a.err = json.Unmarshal(env.Data, &a.gen)
		}
		out <- a
	}()
	return out
}

// processingIDs lists a tenant's processing generations.
func processingIDs(t *testing.T, env *apptest.Env, client uuid.UUID) []string {
	t.Helper()
	rows, err := env.Store.Pool().Query(context.Background(),
		`SELECT id::text FROM generations WHERE client_id = $1 AND status = 'processing' ORDER BY id`, client)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return ids
}

// An image POST still waiting for its provider when the tenant cancels:
// once the provider answers, the POST answers the canceled generation,
// nothing is charged and the output is not stored.
func TestCancelWhileImageInFlight(t *testing.T) {
	env, gem, g := heldGeminiEnv(t, 1, nil)
	balance := tryon.Micros(1_000_000)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance})
	rc := &receiver{}
	withWebhook(t, env, shop.Client.ID, rc)

	post := send(env, http.MethodPost, "/generate", shop.LiveKey, map[string]any{"prompt": "a red dress"})
	<-g.arrived // the provider has the request
	ids := processingIDs(t, env, shop.Client.ID)
	if len(ids) != 1 {
		t.Fatalf("processing: %v", ids)
	}
	if l := readLedger(t, env, shop.Client.ID); l.reserved != 40_000 {
		t.Fatalf("in flight: %+v", l)
	}
	c := cancelGeneration(env, shop.LiveKey, ids[0])
	if c.Status != 200 || c.Generation(t).Status != "canceled" {
		t.Fatalf("cancel: %d %s", c.Status, c.Body)
	}
	close(g.release)
	a := <-post
	if a.err != nil {
		t.Fatal(a.err)
	}
	if a.status != 200 || a.gen.ID != ids[0] || a.gen.Status != "canceled" || a.gen.Output != nil || a.gen.CostMicros != 0 {
		t.Fatalf("the POST answered %d %s", a.status, a.body)
	}
	if got := a.header.Get("X-Credits-Remaining"); got != "1000000" {
		t.Errorf("the POST's X-Credits-Remaining is %q, want the whole balance 1000000", got)
	}
	if n := gem.Count(geminifake.RouteGenerateContent); n != 1 {
		t.Fatalf("the provider was called %d times", n)
	}
	if l := readLedger(t, env, shop.Client.ID); l.charged != 0 || l.usageRows != 0 || l.reserved != 0 || *l.balance != int64(balance) {
		t.Fatalf("after the POST: %+v, want nothing charged or held", l)
	}
	if n := countAssets(t, env); n != 0 {
		t.Fatalf("%d outputs stored for a canceled generation", n)
	}
	if events := deliveryEvents(t, env, ids[0]); len(events) != 1 || !strings.HasPrefix(events[0], "generation.canceled:") {
		t.Fatalf("deliveries %v, want generation.canceled alone", events)
	}
}

// Cancels racing finishes, for real, under -race: every generation ends
// either succeeded and charged (its cancel answered 409) or canceled and
// free (its POST answered the canceled generation), never both; the money
// adds up and each has one webhook, of its final status.
func TestCancelRacesFinish(t *testing.T) {
	t.Run("Postgres", func(t *testing.T) { raceCancelAndFinish(t, nil, nil) })
	t.Run("Blob", func(t *testing.T) {
		store := blobfake.New(t)
		raceCancelAndFinish(t, map[string]string{"BLOB_READ_WRITE_TOKEN": store.Token, "VERCEL_BLOB_API_URL": store.URL},
			func(succeeded int) {
				if up, del := len(store.Requests()), len(store.Deleted()); up-del != succeeded {
					t.Errorf("%d uploads, %d deleted: %d outputs left in Blob, want one per success (%d)", up, del, up-del, succeeded)
				}
			})
	})
}

// raceCancelAndFinish is TestCancelRacesFinish on one storage; stored
// checks what the storage holds when it is not the database.
func raceCancelAndFinish(t *testing.T, settings map[string]string, stored func(succeeded int)) {
	const n = 8
	env, _, g := heldGeminiEnv(t, n, settings)
	balance := tryon.Micros(10_000_000)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance, MaxConcurrent: 50, RequestsPerMinute: 1000})
	rc := &receiver{}
	withWebhook(t, env, shop.Client.ID, rc)

	var posts []<-chan answer
	for i := range n {
		posts = append(posts, send(env, http.MethodPost, "/generate", shop.LiveKey, map[string]any{"prompt": "a dress " + string(rune('a'+i))}))
	}
	for range n {
		<-g.arrived
	}
	ids := processingIDs(t, env, shop.Client.ID)
	if len(ids) != n {
		t.Fatalf("processing %d, want %d", len(ids), n)
	}
	// Release the provider and cancel everything at once.
	cancels := map[string]<-chan answer{}
	var start sync.WaitGroup
	start.Add(1)
	for _, id := range ids {
		ch := make(chan answer, 1)
		cancels[id] = ch
		go func() {
			start.Wait()
			ch <- <-send(env, http.MethodPost, "/generate/"+id+"/cancel", shop.LiveKey, nil)
		}()
	}
	close(g.release)
	start.Done()

	postBy := map[string]answer{}
	for _, p := range posts {
		a := <-p
		if a.err != nil {
			t.Fatal(a.err)
		}
		postBy[a.gen.ID] = a
	}
	succeeded := 0
	for _, id := range ids {
		c, p := <-cancels[id], postBy[id]
		if c.err != nil {
			t.Fatal(c.err)
		}
		var final apptest.Generation
		if err := json.Unmarshal(env.Do(http.MethodGet, "/generate/"+id, shop.LiveKey, nil).Data, &final); err != nil {
			t.Fatal(err)
		}
		switch final.Status {
		case "succeeded":
			succeeded++
			if c.status != 409 || c.code != tryon.CodeGenerationFinished || p.status != 200 || p.gen.Status != "succeeded" ||
				final.CostMicros != 40_000 {
				t.Errorf("%s succeeded: cancel %d %s, POST %d %s", id, c.status, c.body, p.status, p.body)
			}
		case "canceled":
			if c.status != 200 || c.gen.Status != "canceled" || p.status != 200 || p.gen.Status != "canceled" || final.CostMicros != 0 {
				t.Errorf("%s canceled: cancel %d %s, POST %d %s", id, c.status, c.body, p.status, p.body)
			}
		default:
			t.Errorf("%s ended %s", id, final.Status)
		}
		events := deliveryEvents(t, env, id)
		if len(events) != 1 || !strings.HasPrefix(events[0], "generation."+string(final.Status)+":") {
			t.Errorf("%s (%s): deliveries %v", id, final.Status, events)
		}
	}
	l := readLedger(t, env, shop.Client.ID)
	want := int64(succeeded) * 40_000
	if l.charged != want || l.usageRows != want || l.reserved != 0 || l.processing != 0 || *l.balance != int64(balance)-want {
		t.Fatalf("%d succeeded: ledger %+v, want %d charged and the rest of the balance whole", succeeded, l, want)
	}
	if stored != nil {
		stored(succeeded)
		t.Logf("%d of %d finished before their cancel", succeeded, n)
		return
	}
	var assets int
	if err := env.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM assets a
		WHERE EXISTS (SELECT 1 FROM generations g WHERE g.client_id = $1 AND g.status = 'succeeded'
		                AND g.output_url LIKE '%' || a.token || '%')`, shop.Client.ID).Scan(&assets); err != nil {
		t.Fatal(err)
	}
	if total := countAssets(t, env); assets != succeeded || total != succeeded {
		t.Fatalf("%d outputs stored (%d of successes), want one per success (%d)", total, assets, succeeded)
	}
	t.Logf("%d of %d finished before their cancel", succeeded, n)
}

// With outputs in Vercel Blob, the output uploaded for a generation that
// was canceled meanwhile is deleted again through Blob's delete API.
func TestCancelWhileImageInFlightDeletesTheBlob(t *testing.T) {
	store := blobfake.New(t)
	env, _, g := heldGeminiEnv(t, 1, map[string]string{"BLOB_READ_WRITE_TOKEN": store.Token, "VERCEL_BLOB_API_URL": store.URL})
	shop := env.Tenant(apptest.TenantOptions{})
	post := send(env, http.MethodPost, "/generate", shop.LiveKey, map[string]any{"prompt": "a red dress"})
	<-g.arrived
	ids := processingIDs(t, env, shop.Client.ID)
	if c := cancelGeneration(env, shop.LiveKey, ids[0]); c.Status != 200 {
		t.Fatalf("cancel: %d %s", c.Status, c.Body)
	}
	close(g.release)
	if a := <-post; a.err != nil || a.status != 200 || a.gen.Status != "canceled" {
		t.Fatalf("the POST answered %d %s (%v)", a.status, a.body, a.err)
	}
	uploads, deleted := store.Requests(), store.Deleted()
	if len(uploads) != 1 || len(deleted) != 1 || !strings.HasPrefix(deleted[0], store.URL+"/generations/"+ids[0]) {
		t.Fatalf("%d uploads, deleted %v: want the one upload deleted", len(uploads), deleted)
	}
	pathname := strings.TrimPrefix(deleted[0], store.URL+"/")
	if _, ok := store.Blob(pathname); ok {
		t.Fatalf("%s is still in the store", pathname)
	}
	if d := store.Requests()[0].Header.Get("Authorization"); d == "" {
		t.Fatal("the upload carried no token")
	}
}

// A provider that refuses the upstream cancel does not stop ours: the
// answer is the same, the refusal is logged at WARN, and the provider's
// key is nowhere in the logs.
func TestCancelSurvivesAFailedUpstreamCancel(t *testing.T) {
	logs := &syncbuffer.Buffer{}
	env, gem := geminiEnvWith(t, apptest.Options{Log: slog.New(slog.NewJSONHandler(logs, nil))})
	shop := env.Tenant(apptest.TenantOptions{})
	job := env.Generate(shop.LiveKey, map[string]any{"prompt": "a coat " + geminifake.TokenVeoPolls(1000), "service": "veo3"},
		"Prefer", "wait=0").Generation(t)
	gem.SetKey("a-rotated-key") // the provider now refuses our key
	c := cancelGeneration(env, shop.LiveKey, job.ID)
	if c.Status != 200 || c.Generation(t).Status != "canceled" {
		t.Fatalf("cancel: %d %s", c.Status, c.Body)
	}
	if n := gem.Count(geminifake.RouteCancel); n != 1 {
		t.Fatalf("%d upstream cancels, want 1 (refused)", n)
	}
	var warned bool
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "upstream cancel failed") && strings.Contains(line, `"level":"WARN"`) &&
			strings.Contains(line, job.ID) {
			warned = true
		}
	}
	if !warned {
		t.Fatalf("no WARN about the refused upstream cancel:\n%s", logs)
	}
	if strings.Contains(logs.String(), geminifake.DefaultKey) {
		t.Fatal("the provider's key is in the logs")
	}
	if l := readLedger(t, env, shop.Client.ID); l.reserved != 0 || l.charged != 0 {
		t.Fatalf("ledger %+v", l)
	}
}
