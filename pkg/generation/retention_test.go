package generation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/blob/blobfake"
	"github.com/tryonhq/tryon/pkg/generation"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// age moves a generation's completion days into the past, as if that
// much time had gone by.
func age(t *testing.T, env *apptest.Env, id string, days int) {
	t.Helper()
	tag, err := env.Store.Pool().Exec(context.Background(),
		`UPDATE generations SET created_at = created_at - $2 * interval '1 day', completed_at = completed_at - $2 * interval '1 day' WHERE id = $1`, id, days)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("age %s: %v (%d rows)", id, err, tag.RowsAffected())
	}
}

// sweep runs the cron function once and returns its report.
func sweep(t *testing.T, env *apptest.Env) generation.SweepReport {
	t.Helper()
	r := env.Do(http.MethodGet, "/api/cron", "", nil, "Authorization", "Bearer test-cron-secret")
	if r.Status != 200 {
		t.Fatalf("cron: %d %s", r.Status, r.Body)
	}
	var rep generation.SweepReport
	if err := json.Unmarshal(r.Data, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// fetch GETs an absolute URL or one of the API's paths.
func fetch(t *testing.T, env *apptest.Env, u string) *http.Response {
	t.Helper()
	if strings.HasPrefix(u, "/") {
		u = env.URL + u
	}
	resp, err := env.Client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func count(t *testing.T, env *apptest.Env, query string, args ...any) int {
	t.Helper()
	var n int
	if err := env.Store.Pool().QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func getGeneration(t *testing.T, env *apptest.Env, key, id string) apptest.Generation {
	t.Helper()
	r := env.Do(http.MethodGet, "/generate/"+id, key, nil)
	if r.Status != 200 {
		t.Fatalf("GET /generate/%s: %d %s", id, r.Status, r.Body)
	}
	return r.Generation(t)
}

func TestSweepExpiresOutputsPastRetention(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1000})
	old := env.Generate(shop.TestKey, map[string]any{"prompt": "an old linen dress", "metadata": map[string]string{"sku": "D-1"}}).Generation(t)
	young := env.Generate(shop.TestKey, map[string]any{"prompt": "a new linen dress"}).Generation(t)
	if young.ExpiresAt == nil || young.ExpiredAt != nil || young.ErasedAt != nil {
		t.Fatalf("a fresh success: expires_at %v, expired_at %v, erased_at %v; want only expires_at", young.ExpiresAt, young.ExpiredAt, young.ErasedAt)
	}
	completed, _ := time.Parse(time.RFC3339, *young.CompletedAt)
	expires, _ := time.Parse(time.RFC3339, *young.ExpiresAt)
	if got := expires.Sub(completed); got != tryon.DefaultRetentionDays*24*time.Hour {
		t.Errorf("expires_at - completed_at = %s, want %d days", got, tryon.DefaultRetentionDays)
	}
	age(t, env, old.ID, 31)

	if rep := sweep(t, env); rep.OutputsExpired != 1 {
		t.Fatalf("outputs_expired = %d, want 1", rep.OutputsExpired)
	}
	g := getGeneration(t, env, shop.TestKey, old.ID)
	if g.Output != nil || g.ImageURL != nil || g.ExpiredAt == nil || g.ExpiresAt != nil {
		t.Errorf("expired generation: output %v, image_url %v, expired_at %v, expires_at %v", g.Output, g.ImageURL, g.ExpiredAt, g.ExpiresAt)
	}
	if g.Status != tryon.StatusSucceeded || g.Prompt != old.Prompt || g.Metadata["sku"] != "D-1" || g.ErasedAt != nil {
		t.Errorf("retention took more than the outputs: %+v", g)
	}
	r := env.Do(http.MethodGet, strings.TrimPrefix(old.Output.URL, env.URL), "", nil)
	if r.Status != http.StatusGone || r.Code != tryon.CodeGone {
		t.Errorf("expired asset: %d %s, want 410 gone", r.Status, r.Body)
	}
	if resp := fetch(t, env, young.Output.URL); resp.StatusCode != 200 {
		t.Errorf("young asset: %d, want 200", resp.StatusCode)
	}
	if r := env.Do(http.MethodGet, "/assets/AAAAAAAAAAAAAAAAAAAAAA.png", "", nil); r.Status != 404 || r.Code != tryon.CodeNotFound {
		t.Errorf("unknown asset: %d %s, want 404", r.Status, r.Body)
	}
	if n := count(t, env, `SELECT count(*) FROM assets`); n != 1 {
		t.Errorf("%d assets left, want 1 (the young one)", n)
	}
	if rep := sweep(t, env); rep.OutputsExpired != 0 {
		t.Errorf("second sweep expired %d, want 0", rep.OutputsExpired)
	}

	t.Run("ShorterRetentionAppliesToStoredOutputs", func(t *testing.T) {
		age(t, env, young.ID, 2)
		if err := env.Store.SetRetention(context.Background(), shop.Client.ID, 1, "test"); err != nil {
			t.Fatal(err)
		}
		if rep := sweep(t, env); rep.OutputsExpired != 1 {
			t.Fatalf("outputs_expired = %d, want 1", rep.OutputsExpired)
		}
		if resp := fetch(t, env, young.Output.URL); resp.StatusCode != http.StatusGone {
			t.Errorf("asset: %d, want 410", resp.StatusCode)
		}
	})

	t.Run("ErrRetentionOutOfBounds", func(t *testing.T) {
		for _, days := range []int{0, -1, 3651} {
			if err := env.Store.SetRetention(context.Background(), shop.Client.ID, days, "test"); tryon.ErrorCode(err) != tryon.CodeInvalidRequest {
				t.Errorf("SetRetention(%d) = %v, want invalid_request", days, err)
			}
		}
	})
}

// blobEnv runs the app with outputs stored in a fake Vercel Blob store.
func blobEnv(t *testing.T) (*apptest.Env, *blobfake.Server) {
	t.Helper()
	store := blobfake.New(t)
	env := apptest.New(t, apptest.Options{Settings: map[string]string{
		"BLOB_READ_WRITE_TOKEN": store.Token, "VERCEL_BLOB_API_URL": store.URL}})
	return env, store
}

func deletedURLs(fake *blobfake.Server) []string {
	var urls []string
	for _, d := range fake.Deletes() {
		urls = append(urls, d.URLs...)
	}
	return urls
}

func TestSweepDeletesExpiredOutputsFromBlob(t *testing.T) {
	env, store := blobEnv(t)
	shop := env.Tenant(apptest.TenantOptions{})
	g := env.Generate(shop.TestKey, map[string]any{"prompt": "a hat"}).Generation(t)
	if resp := fetch(t, env, g.Output.URL); resp.StatusCode != 200 {
		t.Fatalf("blob URL before: %d", resp.StatusCode)
	}
	age(t, env, g.ID, 31)
	rep := sweep(t, env)
	if rep.OutputsExpired != 1 || rep.BlobsDeleted != 1 {
		t.Fatalf("report %+v, want one output expired and one blob deleted", rep)
	}
	if got := deletedURLs(store); len(got) != 1 || got[0] != g.Output.URL {
		t.Errorf("Blob was asked to delete %q, want [%q]", got, g.Output.URL)
	}
	if resp := fetch(t, env, g.Output.URL); resp.StatusCode != http.StatusNotFound {
		t.Errorf("blob URL after: %d, want 404 from Blob's host", resp.StatusCode)
	}
	if n := count(t, env, `SELECT count(*) FROM blob_deletions`); n != 0 {
		t.Errorf("%d URLs still queued", n)
	}

	t.Run("BlobDownIsRetried", func(t *testing.T) {
		g := env.Generate(shop.TestKey, map[string]any{"prompt": "a scarf"}).Generation(t)
		age(t, env, g.ID, 31)
		// Every attempt of the sweep's delete fails (the first and its retries).
		store.Inject(blobfake.ServiceUnavailable, blobfake.ServiceUnavailable, blobfake.ServiceUnavailable, blobfake.ServiceUnavailable)
		rep := sweep(t, env)
		if rep.OutputsExpired != 1 || rep.BlobsDeleted != 0 {
			t.Fatalf("report %+v, want one expired, none deleted", rep)
		}
		// The database knows first: the generation no longer shows the URL,
		// and the URL waits in the queue, while Blob still has the bytes.
		if got := getGeneration(t, env, shop.TestKey, g.ID); got.Output != nil {
			t.Errorf("output %v after expiry", got.Output)
		}
		if n := count(t, env, `SELECT count(*) FROM blob_deletions WHERE url = $1 AND last_error IS NOT NULL`, g.Output.URL); n != 1 {
			t.Fatalf("the URL is not queued with its error")
		}
		if resp := fetch(t, env, g.Output.URL); resp.StatusCode != 200 {
			t.Fatalf("blob URL: %d, want still 200 while Blob is down", resp.StatusCode)
		}
		// Once due again, the next sweep deletes it.
		env.Store.Pool().Exec(context.Background(), `UPDATE blob_deletions SET next_attempt_at = now()`)
		if rep := sweep(t, env); rep.BlobsDeleted != 1 {
			t.Fatalf("report %+v, want the queued blob deleted", rep)
		}
		if resp := fetch(t, env, g.Output.URL); resp.StatusCode != http.StatusNotFound {
			t.Errorf("blob URL after the retry: %d, want 404", resp.StatusCode)
		}
	})
}

// TestConcurrentSweepsExpireEachOnce runs sweeps side by side over the
// same expired outputs: each generation is expired once and each blob
// deleted once.
func TestConcurrentSweepsExpireEachOnce(t *testing.T) {
	env, store := blobEnv(t)
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 10000, MaxConcurrent: 100})
	const n = 60
	var urls sync.Map
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := env.Generate(shop.TestKey, map[string]any{"prompt": fmt.Sprintf("hat %d", i)}).Generation(t)
			urls.Store(g.Output.URL, g.ID)
		}()
	}
	wg.Wait()
	if _, err := env.Store.Pool().Exec(context.Background(),
		`UPDATE generations SET completed_at = completed_at - interval '40 days' WHERE client_id = $1`, shop.Client.ID); err != nil {
		t.Fatal(err)
	}
	reports := make([]generation.SweepReport, 4)
	for i := range reports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := env.App.Runner.Sweep(context.Background(), generation.ReadOptions{})
			if err != nil {
				t.Error(err)
			}
			reports[i] = rep
		}()
	}
	wg.Wait()
	expired, deleted := 0, 0
	for _, r := range reports {
		expired += r.OutputsExpired
		deleted += r.BlobsDeleted
	}
	if expired != n || deleted != n {
		t.Errorf("sweeps expired %d and deleted %d, want %d each", expired, deleted, n)
	}
	seen := map[string]int{}
	for _, u := range deletedURLs(store) {
		seen[u]++
	}
	urls.Range(func(k, _ any) bool {
		if seen[k.(string)] != 1 {
			t.Errorf("%s deleted %d times, want once", k, seen[k.(string)])
		}
		return true
	})
	if len(seen) != n {
		t.Errorf("%d distinct URLs deleted, want %d", len(seen), n)
	}
}

func TestDeleteGeneration(t *testing.T) {
	env := apptest.New(t, apptest.Options{Settings: map[string]string{"FAKE_VIDEO_LATENCY": "1m"}})
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1000})
	other := env.Tenant(apptest.TenantOptions{})
	rc := &receiver{}
	withWebhook(t, env, shop.Client.ID, rc)

	g := env.Generate(shop.LiveKey, map[string]any{"prompt": "a red linen dress on Jane", "metadata": map[string]string{"customer": "jane@example.com"}}).Generation(t)
	if g.CostMicros == 0 {
		t.Fatal("the live generation was not billed")
	}
	statement := func() string {
		r := env.Do(http.MethodGet, "/billing/statement?month="+time.Now().UTC().Format("2006-01"), shop.LiveKey, nil)
		if r.Status != 200 {
			t.Fatalf("statement: %d %s", r.Status, r.Body)
		}
		return string(r.Data)
	}
	before := statement()
	usage := `SELECT count(*) FROM usage_records WHERE generation_id = $1 AND amount_micros = $2`

	t.Run("ErrOtherTenant", func(t *testing.T) {
		for _, path := range []string{"/generate/" + g.ID, "/generate/" + uuid.NewString(), "/generate/not-a-uuid"} {
			if r := env.Do(http.MethodDelete, path, other.LiveKey, nil); r.Status != 404 || r.Code != tryon.CodeNotFound {
				t.Errorf("DELETE %s by another tenant: %d %s, want 404", path, r.Status, r.Body)
			}
		}
		if r := env.Do(http.MethodDelete, "/generate/"+g.ID, env.Key(nil, tryon.KeyAdmin, nil), nil); r.Status != 403 {
			t.Errorf("DELETE with an admin key: %d, want 403", r.Status)
		}
		if got := getGeneration(t, env, shop.LiveKey, g.ID); got.Output == nil || got.Prompt != g.Prompt {
			t.Fatalf("a refused DELETE changed the generation: %+v", got)
		}
	})

	for i := range 2 {
		r := env.Do(http.MethodDelete, "/generate/"+g.ID, shop.LiveKey, nil)
		if r.Status != 200 {
			t.Fatalf("DELETE #%d: %d %s", i+1, r.Status, r.Body)
		}
		if got, want := string(r.Data), fmt.Sprintf(`{"id":%q,"object":"generation","deleted":true}`, g.ID); got != want {
			t.Errorf("DELETE #%d answered %s, want %s", i+1, got, want)
		}
	}
	erased := getGeneration(t, env, shop.LiveKey, g.ID)
	if erased.Prompt != "" || len(erased.Metadata) != 0 || erased.Output != nil || erased.ImageURL != nil ||
		erased.ErasedAt == nil || erased.ExpiredAt == nil || erased.ExpiresAt != nil {
		t.Errorf("erased generation still holds something: %+v", erased)
	}
	if erased.Status != tryon.StatusSucceeded || erased.CostMicros != g.CostMicros {
		t.Errorf("erasure changed the bill: status %s cost %d, want succeeded %d", erased.Status, erased.CostMicros, g.CostMicros)
	}
	if r := env.Do(http.MethodGet, strings.TrimPrefix(g.Output.URL, env.URL), "", nil); r.Status != http.StatusGone {
		t.Errorf("erased asset: %d, want 410", r.Status)
	}
	if n := count(t, env, `SELECT count(*) FROM assets`); n != 0 {
		t.Errorf("%d assets left", n)
	}
	if n := count(t, env, `SELECT count(*) FROM generations g WHERE g::text LIKE '%jane%'`); n != 0 {
		t.Errorf("the prompt or metadata survived in %d rows", n)
	}
	if n := count(t, env, usage, g.ID, g.CostMicros); n != 1 {
		t.Errorf("usage record gone")
	}
	if after := statement(); after != before {
		t.Errorf("statement changed:\n%s\n%s", before, after)
	}

	// The webhook: sent once, however many DELETEs.
	rc.mu.Lock()
	var deleted []map[string]any
	for _, ev := range rc.events {
		if ev["type"] == "generation.deleted" {
			deleted = append(deleted, ev)
		}
	}
	rc.mu.Unlock()
	if len(deleted) != 1 {
		t.Fatalf("%d generation.deleted events, want 1", len(deleted))
	}
	data, _ := deleted[0]["data"].(map[string]any)
	if data["id"] != g.ID || data["prompt"] != "" || data["output"] != nil || data["erased_at"] == nil {
		t.Errorf("generation.deleted data: %v", data)
	}

	t.Run("ErrProcessing", func(t *testing.T) {
		video := env.Generate(shop.TestKey, map[string]any{"prompt": "the model turns", "service": "veo3", "duration_seconds": 4}, "Prefer", "wait=0").Generation(t)
		r := env.Do(http.MethodDelete, "/generate/"+video.ID, shop.TestKey, nil)
		if r.Status != http.StatusConflict || r.Code != tryon.CodeGenerationProcessing {
			t.Errorf("DELETE of a processing generation: %d %s, want 409", r.Status, r.Body)
		}
		if got := getGeneration(t, env, shop.TestKey, video.ID); got.Prompt != video.Prompt || got.ErasedAt != nil {
			t.Errorf("the processing generation was touched: %+v", got)
		}
	})

	t.Run("FailedGeneration", func(t *testing.T) {
		f := env.Generate(shop.TestKey, map[string]any{"prompt": "a hat [fake:blocked]"}).Generation(t)
		if r := env.Do(http.MethodDelete, "/generate/"+f.ID, shop.TestKey, nil); r.Status != 200 {
			t.Fatalf("DELETE of a failed generation: %d %s", r.Status, r.Body)
		}
		got := getGeneration(t, env, shop.TestKey, f.ID)
		if got.Prompt != "" || got.ErasedAt == nil || got.ExpiredAt != nil || got.Status != tryon.StatusFailed {
			t.Errorf("erased failed generation: %+v", got)
		}
	})

	t.Run("Methods", func(t *testing.T) {
		r := env.Do(http.MethodPut, "/generate/"+g.ID, shop.LiveKey, nil)
		if r.Status != 405 || r.Header.Get("Allow") != "GET, HEAD, DELETE, OPTIONS" {
			t.Errorf("PUT: %d Allow %q", r.Status, r.Header.Get("Allow"))
		}
		r = env.Do(http.MethodOptions, "/generate/"+g.ID, "", nil)
		if r.Status != 204 || r.Header.Get("Allow") != "GET, HEAD, DELETE, OPTIONS" {
			t.Errorf("OPTIONS: %d Allow %q", r.Status, r.Header.Get("Allow"))
		}
		if r := env.Do(http.MethodDelete, "/api/generation?id="+g.ID, shop.LiveKey, nil); r.Status != 200 {
			t.Errorf("DELETE through the function's own path: %d %s", r.Status, r.Body)
		}
	})
}

func TestDeleteGenerationErasesBlobOutputs(t *testing.T) {
	env, store := blobEnv(t)
	shop := env.Tenant(apptest.TenantOptions{})
	g := env.Generate(shop.TestKey, map[string]any{"prompt": "a hat"}).Generation(t)
	if r := env.Do(http.MethodDelete, "/generate/"+g.ID, shop.TestKey, nil); r.Status != 200 {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	if got := deletedURLs(store); len(got) != 1 || got[0] != g.Output.URL {
		t.Errorf("Blob deletes %q, want [%q]", got, g.Output.URL)
	}
	if resp := fetch(t, env, g.Output.URL); resp.StatusCode != http.StatusNotFound {
		t.Errorf("blob URL after DELETE: %d, want 404", resp.StatusCode)
	}
}

// TestDeleteGenerationDeletesOnlyItsOwnBlobs: DELETE /generate/:id asks
// Blob to delete its generation's outputs before it answers, and nothing
// else: URLs queued by other generations (here another tenant's, whose
// delete Blob refused earlier) are the sweep's work, not this request's.
func TestDeleteGenerationDeletesOnlyItsOwnBlobs(t *testing.T) {
	env, store := blobEnv(t)
	shop := env.Tenant(apptest.TenantOptions{})
	other := env.Tenant(apptest.TenantOptions{})
	theirs := env.Generate(other.TestKey, map[string]any{"prompt": "a scarf"}).Generation(t)
	age(t, env, theirs.ID, 31)
	store.Inject(blobfake.ServiceUnavailable, blobfake.ServiceUnavailable, blobfake.ServiceUnavailable, blobfake.ServiceUnavailable)
	if rep := sweep(t, env); rep.OutputsExpired != 1 || rep.BlobsDeleted != 0 {
		t.Fatalf("sweep %+v, want the other tenant's output expired and its blob left queued", rep)
	}
	if _, err := env.Store.Pool().Exec(context.Background(), `UPDATE blob_deletions SET next_attempt_at = now()`); err != nil {
		t.Fatal(err)
	}
	before := len(store.Deletes())

	mine := env.Generate(shop.TestKey, map[string]any{"prompt": "a hat"}).Generation(t)
	if r := env.Do(http.MethodDelete, "/generate/"+mine.ID, shop.TestKey, nil); r.Status != 200 {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	var asked []string
	for _, d := range store.Deletes()[before:] {
		asked = append(asked, d.URLs...)
	}
	if len(asked) != 1 || asked[0] != mine.Output.URL {
		t.Errorf("DELETE asked Blob to delete %q, want only its own [%q]", asked, mine.Output.URL)
	}
	if n := count(t, env, `SELECT count(*) FROM blob_deletions WHERE url = $1`, theirs.Output.URL); n != 1 {
		t.Errorf("the other tenant's URL is queued %d times, want still once (for the sweep)", n)
	}
	if rep := sweep(t, env); rep.BlobsDeleted != 1 {
		t.Errorf("sweep %+v, want the other tenant's blob deleted", rep)
	}
}

func TestEraseClient(t *testing.T) {
	env, store := blobEnv(t)
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1000})
	neighbour := env.Tenant(apptest.TenantOptions{})
	var ids []string
	for i := range 3 {
		ids = append(ids, env.Generate(shop.LiveKey, map[string]any{"prompt": fmt.Sprintf("dress %d", i), "metadata": map[string]string{"k": "v"}}).Generation(t).ID)
	}
	env.Generate(shop.TestKey, map[string]any{"prompt": "a hat [fake:error]"})
	kept := env.Generate(neighbour.TestKey, map[string]any{"prompt": "the neighbour's hat"}).Generation(t)
	billed := count(t, env, `SELECT coalesce(sum(amount_micros), 0) FROM usage_records WHERE client_id = $1`, shop.Client.ID)

	res, err := env.App.Runner.Eraser.EraseClient(context.Background(), shop.Client.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Erased != 4 || res.Processing != 0 || res.BlobsDeleted != 3 {
		t.Errorf("result %+v, want 4 erased and 3 blobs deleted", res)
	}
	if n := count(t, env, `SELECT count(*) FROM generations WHERE client_id = $1 AND (erased_at IS NULL OR prompt <> '' OR metadata <> '{}' OR output_url IS NOT NULL)`, shop.Client.ID); n != 0 {
		t.Errorf("%d generations not erased", n)
	}
	if got := count(t, env, `SELECT coalesce(sum(amount_micros), 0) FROM usage_records WHERE client_id = $1`, shop.Client.ID); got != billed || billed == 0 {
		t.Errorf("usage %d after erasure, %d before", got, billed)
	}
	if got := getGeneration(t, env, neighbour.TestKey, kept.ID); got.Output == nil || got.Prompt == "" {
		t.Errorf("the neighbour's generation was erased")
	}
	again, err := env.App.Runner.Eraser.EraseClient(context.Background(), shop.Client.ID)
	if err != nil || again.Erased != 0 || again.BlobsDeleted != 0 {
		t.Errorf("second run: %+v %v, want nothing to do", again, err)
	}
	if got := len(deletedURLs(store)); got != 3 {
		t.Errorf("Blob received %d deletes, want 3", got)
	}
	_ = ids
}
