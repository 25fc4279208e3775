package generation_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/gemini/geminifake"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// pollUntilDone polls a generation as a client would, until it leaves
// processing or a minute passes.
func pollUntilDone(t *testing.T, env *apptest.Env, key, location string) apptest.Generation {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r := env.Do(http.MethodGet, location, key, nil)
		if r.Status != 200 {
			t.Fatalf("GET %s: %d %s", location, r.Status, r.Body)
		}
		g := r.Generation(t)
		if g.Status != "processing" || time.Now().After(deadline) {
			return g
		}
		time.Sleep(25 * time.Millisecond) // the poll interval a client would use
	}
}

func TestVeoFinishesWithinTheRequest(t *testing.T) {
	env, fake := geminiEnv(t, nil)
	shop := env.Tenant(apptest.TenantOptions{})
	for _, polls := range []int{0, 3} {
		r := env.Generate(shop.LiveKey, map[string]any{"prompt": "a coat turning " + geminifake.TokenVeoPolls(polls),
			"service": "veo3", "width": 720, "height": 1280, "duration_seconds": 4})
		g := r.Generation(t)
		if r.Status != 200 || g.Status != "succeeded" || g.Output.ContentType != "video/mp4" || g.Output.Width != 720 || g.Output.Height != 1280 {
			t.Fatalf("polls=%d: %d %s", polls, r.Status, r.Body)
		}
		if g.CostMicros != 1_200_000 || g.Model != "veo-3.0-fast-generate-001" {
			t.Fatalf("polls=%d: %+v", polls, g)
		}
	}
	body := string(fake.LastBody(geminifake.RoutePredictLongRunning))
	if !strings.Contains(body, `"aspectRatio":"9:16"`) || !strings.Contains(body, `"durationSeconds":4`) {
		t.Fatalf("predictLongRunning body: %s", body)
	}
	if req, _ := fake.Last(geminifake.RouteDownload); req.Header.Get("X-Goog-Api-Key") != geminifake.DefaultKey {
		t.Fatalf("the download was not authenticated")
	}
}

func TestVeoAnswers202AndAReadFinishesIt(t *testing.T) {
	env, fake := geminiEnv(t, nil)
	shop := env.Tenant(apptest.TenantOptions{})
	r := env.Generate(shop.LiveKey, map[string]any{"prompt": "a dress " + geminifake.TokenVeoPolls(3), "service": "veo3"}, "Prefer", "wait=0")
	g := r.Generation(t)
	loc := r.Header.Get("Location")
	if r.Status != 202 || g.Status != "processing" || loc != "/generate/"+g.ID || g.Output != nil {
		t.Fatalf("got %d %v %s", r.Status, r.Header, r.Body)
	}
	if l := readLedger(t, env, shop.Client.ID); l.reserved != 1_200_000 || l.charged != 0 {
		t.Fatalf("the reservation is not held while it runs: %+v", l)
	}
	// The same Idempotency-Key-less request is not a replay; a replay of a
	// running job answers 202 too (checked below with a key).
	done := pollUntilDone(t, env, shop.LiveKey, loc)
	if done.Status != "succeeded" || done.Output == nil || done.CostMicros != 1_200_000 {
		t.Fatalf("after polling: %+v", done)
	}
	if n := fake.Count(geminifake.RouteDownload); n != 1 {
		t.Fatalf("%d downloads", n)
	}
	video := env.Do(http.MethodGet, strings.TrimPrefix(done.Output.URL, env.URL), "", nil)
	if video.Status != 200 || video.Header.Get("Content-Type") != "video/mp4" || string(video.Body[4:8]) != "ftyp" {
		t.Fatalf("video asset: %d %v", video.Status, video.Header)
	}
	if l := readLedger(t, env, shop.Client.ID); l.reserved != 0 || l.charged != 1_200_000 || l.usageRows != 1_200_000 {
		t.Fatalf("ledger %+v", l)
	}
}

func TestVeoReplayOfARunningJobAnswers202(t *testing.T) {
	env, _ := geminiEnv(t, nil)
	shop := env.Tenant(apptest.TenantOptions{})
	body := map[string]any{"prompt": "a skirt " + geminifake.TokenVeoPolls(1000), "service": "veo3"}
	first := env.Generate(shop.LiveKey, body, "Prefer", "wait=0", "Idempotency-Key", "v1")
	again := env.Generate(shop.LiveKey, body, "Prefer", "wait=0", "Idempotency-Key", "v1")
	if first.Status != 202 || again.Status != 202 || again.Header.Get("Idempotent-Replayed") != "true" ||
		again.Header.Get("Location") != first.Header.Get("Location") {
		t.Fatalf("first %d, replay %d %v", first.Status, again.Status, again.Header)
	}
}

func TestVeoFailures(t *testing.T) {
	env, fake := geminiEnv(t, map[string]string{"VIDEO_MAX_BYTES": "1048576"})
	fake.SetBigVideoSize(2 << 20)
	cases := []struct {
		name, token string
		status      int
		code        tryon.Code
	}{
		{"SafetyFiltered", geminifake.TokenVeoFiltered, 422, tryon.CodeContentBlocked},
		{"OperationError", geminifake.TokenVeoError, 502, tryon.CodeUpstreamError},
		{"DownloadMissing", geminifake.TokenVeoDownload404, 502, tryon.CodeUpstreamError},
		{"OverTheSizeCap", geminifake.TokenVeoBig, 502, tryon.CodeUpstreamError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			shop := env.Tenant(apptest.TenantOptions{})
			r := env.Generate(shop.LiveKey, map[string]any{"prompt": "a hat " + tc.token, "service": "veo3"})
			if r.Status != tc.status || r.Code != tc.code || r.Generation(t).Status != "failed" {
				t.Fatalf("got %d %s", r.Status, r.Body)
			}
			if l := readLedger(t, env, shop.Client.ID); l.charged != 0 || l.reserved != 0 {
				t.Fatalf("ledger %+v", l)
			}
		})
	}
}

// TestTwoReadersFinishAJobOnce reads one finishing job from many clients
// at once: one of them polls and finishes it, the job is downloaded,
// stored and charged once.
func TestTwoReadersFinishAJobOnce(t *testing.T) {
	env, fake := geminiEnv(t, nil)
	shop := env.Tenant(apptest.TenantOptions{})
	r := env.Generate(shop.LiveKey, map[string]any{"prompt": "a shirt " + geminifake.TokenVeoPolls(1), "service": "veo3"}, "Prefer", "wait=0")
	if r.Status != 202 {
		t.Fatalf("got %d", r.Status)
	}
	loc := r.Header.Get("Location")
	for round := 0; round < 50; round++ {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if got := env.Do(http.MethodGet, loc, shop.LiveKey, nil); got.Status != 200 {
					t.Errorf("GET: %d", got.Status)
				}
			}()
		}
		wg.Wait()
		if l := readLedger(t, env, shop.Client.ID); l.processing == 0 {
			break
		}
		time.Sleep(25 * time.Millisecond) // let the poll lease lapse, as a client's next poll would
	}
	if n := fake.Count(geminifake.RouteDownload); n != 1 {
		t.Fatalf("%d downloads, want 1", n)
	}
	var assets int
	_ = env.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM assets`).Scan(&assets)
	if l := readLedger(t, env, shop.Client.ID); l.charged != 1_200_000 || l.usageRows != 1_200_000 || assets != 1 {
		t.Fatalf("ledger %+v, %d assets", l, assets)
	}
}

func TestCronSweepFinishesJobsAndFailsExpiredOnes(t *testing.T) {
	env, _ := geminiEnv(t, nil)
	shop := env.Tenant(apptest.TenantOptions{})
	ctx := context.Background()
	var running []string
	for i := range 3 {
		r := env.Generate(shop.LiveKey, map[string]any{"prompt": fmt.Sprintf("job %d %s", i, geminifake.TokenVeoPolls(1)), "service": "veo3"}, "Prefer", "wait=0")
		if r.Status != 202 {
			t.Fatalf("got %d", r.Status)
		}
		running = append(running, r.Generation(t).ID)
	}
	// One abandoned image request, past its deadline.
	p, _ := env.Store.FindPrincipal(ctx, keyDigest(t, shop.LiveKey))
	abandoned, _ := uuid.NewV7()
	if _, err := env.Store.Admit(ctx, tryon.Admission{ID: abandoned, KeyID: p.Key.ID, ClientID: shop.Client.ID, Mode: tryon.ModeLive,
		Service: tryon.ServiceBanana, Provider: "gemini", Model: "m", Prompt: "x", Width: 64, Height: 64, DefaultPrice: 1, Lifetime: time.Minute}); err != nil {
		t.Fatal(err)
	}
	_, _ = env.Store.Pool().Exec(ctx, `UPDATE generations SET deadline = now() - interval '1s' WHERE id = $1`, abandoned)

	if r := env.Do(http.MethodGet, "/api/cron", "", nil, "Authorization", "Bearer wrong"); r.Status != 401 {
		t.Fatalf("cron with a wrong secret: %d", r.Status)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		r := env.Do(http.MethodGet, "/api/cron", "", nil, "Authorization", "Bearer test-cron-secret")
		if r.Status != 200 {
			t.Fatalf("cron: %d %s", r.Status, r.Body)
		}
		if l := readLedger(t, env, shop.Client.ID); l.processing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(25 * time.Millisecond) // the next cron tick
	}
	for _, id := range running {
		g, err := env.Store.FindGeneration(ctx, uuid.MustParse(id))
		if err != nil || g.Status != tryon.StatusSucceeded {
			t.Fatalf("job %s: %v %+v", id, err, g)
		}
	}
	g, _ := env.Store.FindGeneration(ctx, abandoned)
	if g.Status != tryon.StatusFailed || g.Error.Code != tryon.CodeGenerationTimeout {
		t.Fatalf("abandoned: %+v", g)
	}
	if l := readLedger(t, env, shop.Client.ID); l.charged != 3*1_200_000 || l.reserved != 0 {
		t.Fatalf("ledger %+v", l)
	}
}

func TestLongJobDeadlineFailsAJobThatNeverEnds(t *testing.T) {
	env, _ := geminiEnv(t, nil)
	shop := env.Tenant(apptest.TenantOptions{})
	r := env.Generate(shop.LiveKey, map[string]any{"prompt": "forever " + geminifake.TokenVeoPolls(1000), "service": "veo3"}, "Prefer", "wait=0")
	id := r.Generation(t).ID
	// The job's own deadline (LONG_JOB_DEADLINE) passes.
	_, _ = env.Store.Pool().Exec(context.Background(), `UPDATE generations SET deadline = now() - interval '1s' WHERE id = $1`, id)
	g := env.Do(http.MethodGet, "/generate/"+id, shop.LiveKey, nil).Generation(t)
	if g.Status != "failed" || g.Error.Code != tryon.CodeGenerationTimeout {
		t.Fatalf("got %+v", g)
	}
	if l := readLedger(t, env, shop.Client.ID); l.reserved != 0 || l.charged != 0 {
		t.Fatalf("ledger %+v", l)
	}
}
