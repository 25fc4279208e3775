package generation_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/gemini/geminifake"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// loseAdmissions deletes what a database crash loses of admissions that
// committed asynchronously and were not flushed yet: the tenant's
// processing generations and their idempotency claims. It returns their ids.
func loseAdmissions(t testing.TB, env *apptest.Env, client uuid.UUID) []uuid.UUID {
	t.Helper()
	ctx := context.Background()
	rows, err := env.Store.Pool().Query(ctx, `
		WITH lost AS (DELETE FROM generations WHERE client_id = $1 AND status = 'processing' RETURNING id),
		     claims AS (DELETE FROM idempotency_keys WHERE generation_id IN (SELECT id FROM lost))
		SELECT id FROM lost`, client)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestLostAdmissionIsReadmitted: an admission lost while its provider works
// (as a database crash loses an asynchronous commit) is recorded again when
// the paid result is finished: the client gets its result under the same
// id, the prepaid tenant is charged exactly once, and a retry with the same
// Idempotency-Key replays it.
func TestLostAdmissionIsReadmitted(t *testing.T) {
	env := apptest.New(t, apptest.Options{Settings: map[string]string{"FAKE_LATENCY": "500ms"}})
	balance := tryon.Micros(10_000_000)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance, MaxConcurrent: 10})
	initial := int64(balance)
	body := map[string]any{"prompt": "a lost admission"}

	answer := make(chan *apptest.Response, 1)
	go func() { answer <- env.Generate(shop.LiveKey, body, "Idempotency-Key", "lost-1") }()
	waitProcessing(t, env, shop.Client.ID, 1)
	lost := loseAdmissions(t, env, shop.Client.ID)
	if len(lost) != 1 {
		t.Fatalf("lost %d admissions, want 1", len(lost))
	}
	r := <-answer
	g := r.Generation(t)
	if r.Status != 200 || g.Status != "succeeded" || g.ID != lost[0].String() || g.CostMicros != 40_000 {
		t.Fatalf("after the lost admission: %d %s", r.Status, r.Body)
	}
	l := reconcile(t, env, shop.Client.ID, &initial)
	if l.charged != 40_000 {
		t.Errorf("charged %d, want 40000", l.charged)
	}
	again := env.Generate(shop.LiveKey, body, "Idempotency-Key", "lost-1")
	if again.Status != 200 || again.Header.Get("Idempotent-Replayed") != "true" || again.Generation(t).ID != g.ID {
		t.Errorf("retry: %d %v %s", again.Status, again.Header, again.Body)
	}
	reconcile(t, env, shop.Client.ID, &initial)
}

// TestDatabaseCrashRightAfterAdmission crashes PostgreSQL as soon as four
// live generations are admitted, with the WAL writer slowed down so that
// their asynchronous admissions are most likely still unflushed: whatever
// the crash lost is recorded again by finishing, so every client gets its
// result, each is charged exactly once, and retries replay.
func TestDatabaseCrashRightAfterAdmission(t *testing.T) {
	cluster := durableCluster(t, "wal_writer_delay=10s")
	env := apptest.New(t, apptest.Options{DatabaseURL: cluster.URL + "&connect_timeout=2",
		Settings: map[string]string{"FAKE_LATENCY": "1s"}})
	balance := tryon.Micros(10_000_000)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance, MaxConcurrent: 10})
	initial := int64(balance)

	var answers []*apptest.Response
	var keys []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		answers, keys = postConcurrently(env, shop.LiveKey, "admitted", 4)
	}()
	waitProcessing(t, env, shop.Client.ID, 4)
	cluster.Crash()
	if err := cluster.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if conn, err := pgx.Connect(context.Background(), cluster.URL); err == nil {
		var survived int
		if err := conn.QueryRow(context.Background(),
			`SELECT count(*) FROM generations WHERE client_id = $1`, shop.Client.ID).Scan(&survived); err == nil {
			t.Logf("%d of 4 admissions survived the crash", survived)
		}
		conn.Close(context.Background())
	}
	<-done
	for i, a := range answers {
		if a.Status != 200 || a.Generation(t).Status != "succeeded" {
			t.Errorf("request %d: %d %s", i, a.Status, a.Body)
		}
	}
	l := reconcile(t, env, shop.Client.ID, &initial)
	if want := int64(4 * 40_000); l.charged != want {
		t.Errorf("charged %d, want %d", l.charged, want)
	}
	for i, k := range keys {
		r := env.Generate(shop.LiveKey, map[string]any{"prompt": fmt.Sprintf("in flight %d", i)}, "Idempotency-Key", k)
		if r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "true" || r.Generation(t).ID != answers[i].Generation(t).ID {
			t.Errorf("retry %d: %d %s", i, r.Status, r.Body)
		}
	}
}

// TestVideo202NeverNamesALostAdmission: a long job's 202 hands out its id,
// so the admission must be durable by then. Here the admission is lost
// while the provider starts the job (a proxy in front of the Gemini fake
// deletes it as a crash would): storing the operation records it again, the
// 202 names a generation that exists, and polling finishes it, charged once.
func TestVideo202NeverNamesALostAdmission(t *testing.T) {
	fake := geminifake.New()
	t.Cleanup(fake.Close)
	target, err := url.Parse(fake.URL())
	if err != nil {
		t.Fatal(err)
	}
	var env *apptest.Env
	var client uuid.UUID
	var lost atomic.Int32
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ":"+geminifake.RoutePredictLongRunning) {
			lost.Add(int32(len(loseAdmissions(t, env, client))))
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	env = apptest.New(t, apptest.Options{Settings: map[string]string{"PROVIDER_VEO3": "gemini",
		"GEMINI_API_KEY": geminifake.DefaultKey, "GEMINI_BASE_URL": front.URL}})
	shop := env.Tenant(apptest.TenantOptions{})
	client = shop.Client.ID

	r := env.Generate(shop.LiveKey, map[string]any{"prompt": "a coat " + geminifake.TokenVeoPolls(3), "service": "veo3"},
		"Prefer", "wait=0", "Idempotency-Key", "video-1")
	g := r.Generation(t)
	if lost.Load() != 1 {
		t.Fatalf("lost %d admissions, want 1", lost.Load())
	}
	if r.Status != 202 || g.Status != "processing" {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	stored, err := env.Store.FindGeneration(context.Background(), uuid.MustParse(g.ID))
	if err != nil || stored.Operation == "" {
		t.Fatalf("the 202 names %s, stored as %+v (%v)", g.ID, stored, err)
	}
	done := pollUntilDone(t, env, shop.LiveKey, r.Header.Get("Location"))
	if done.Status != "succeeded" || done.CostMicros != 1_200_000 {
		t.Fatalf("after polling: %+v", done)
	}
	if l := reconcile(t, env, client, nil); l.charged != 1_200_000 {
		t.Fatalf("charged %d, want 1200000", l.charged)
	}
	deadline := time.Now().Add(time.Minute)
	if stored.Deadline.Before(deadline) {
		t.Fatalf("deadline %v: not the long job's", stored.Deadline)
	}
}
