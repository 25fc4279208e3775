package generation_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/gemini/geminifake"
)

// TestWaitingPostAndReadersDownloadOnce: a POST waiting with Prefer: wait
// and several GETs poll the same running video at once. Whoever finds it
// done downloads it; the others wait for that and answer the same result:
// one download, one stored asset, none orphaned.
func TestWaitingPostAndReadersDownloadOnce(t *testing.T) {
	for round := range 3 {
		env, fake := geminiEnv(t, nil)
		shop := env.Tenant(apptest.TenantOptions{})
		posted := make(chan *apptest.Response, 1)
		go func() {
			posted <- env.Generate(shop.LiveKey, map[string]any{"prompt": "a coat " + geminifake.TokenVeoPolls(8), "service": "veo3"},
				"Prefer", "wait=60")
		}()
		var id string
		for deadline := time.Now().Add(30 * time.Second); id == ""; {
			_ = env.Store.Pool().QueryRow(context.Background(),
				`SELECT id::text FROM generations WHERE client_id = $1 AND operation IS NOT NULL`, shop.Client.ID).Scan(&id)
			if time.Now().After(deadline) {
				t.Fatal("the video job never started")
			}
		}
		var wg sync.WaitGroup
		urls := make([]string, 4)
		for i := range urls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				g := pollUntilDone(t, env, shop.LiveKey, "/generate/"+id)
				if g.Output != nil {
					urls[i] = g.Output.URL
				}
			}()
		}
		wg.Wait()
		p := <-posted
		if p.Status != 200 || p.Generation(t).Output == nil {
			t.Fatalf("round %d: the waiting POST: %d %s", round, p.Status, p.Body)
		}
		for i, u := range urls {
			if u != p.Generation(t).Output.URL {
				t.Errorf("round %d: reader %d saw %q, the POST %q", round, i, u, p.Generation(t).Output.URL)
			}
		}
		var assets int
		if err := env.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM assets`).Scan(&assets); err != nil {
			t.Fatal(err)
		}
		if n := fake.Count(geminifake.RouteDownload); n != 1 || assets != 1 {
			t.Fatalf("round %d: %d downloads, %d stored assets; want one of each", round, n, assets)
		}
		if r := env.Do(http.MethodGet, "/generate/"+id, shop.LiveKey, nil); r.Generation(t).Status != "succeeded" {
			t.Fatalf("round %d: %s", round, r.Body)
		}
	}
}
