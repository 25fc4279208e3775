package generation_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/pgcluster"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestDatabaseCrashAndRecovery crashes PostgreSQL under a running app (as a
// crash or a Neon failover would): requests answer 503 unavailable, never
// 500, and once the database is back the same instance serves again with
// nothing left stuck.
func TestDatabaseCrashAndRecovery(t *testing.T) {
	ctx := context.Background()
	// Durable, as production is: the throwaway default trades crash safety
	// for speed, and a crash would then lose commits.
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{Settings: []string{"fsync=on", "synchronous_commit=on", "full_page_writes=on"}})
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Stop()
	conn, err := pgx.Connect(ctx, cluster.URL)
	if err != nil {
		t.Fatal(err)
	}
	path, _ := postgres.FindSchema()
	if err := postgres.ApplySchema(ctx, conn, path); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	env := apptest.New(t, apptest.Options{DatabaseURL: cluster.URL + "&connect_timeout=2"})
	shop := env.Tenant(apptest.TenantOptions{})
	before := env.Generate(shop.TestKey, map[string]any{"prompt": "before"})
	if before.Status != 200 {
		t.Fatalf("before the crash: %d %s", before.Status, before.Body)
	}

	cluster.Crash()
	for _, r := range []*apptest.Response{
		env.Do(http.MethodGet, "/health", "", nil),
		env.Generate(shop.TestKey, map[string]any{"prompt": "during"}), // the key is cached: admission fails
		env.Do(http.MethodGet, "/generate/"+before.Generation(t).ID, shop.TestKey, nil),
		env.Do(http.MethodGet, "/generations", shop.TestKey, nil),
	} {
		if r.Status != 503 || r.Code != tryon.CodeUnavailable {
			t.Fatalf("with the database down: %d %s", r.Status, r.Body)
		}
	}
	// A key the instance has not seen cannot be checked either: 503, not 401.
	// (The live key has not been used yet, so it is not in the key cache.)
	if r := env.Do(http.MethodGet, "/generate/"+before.Generation(t).ID, shop.LiveKey, nil); r.Status != 503 || r.Code != tryon.CodeUnavailable {
		t.Fatalf("an unseen key with the database down: %d %s", r.Status, r.Body)
	}

	if err := cluster.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	after := env.Generate(shop.TestKey, map[string]any{"prompt": "after"})
	if after.Status != 200 {
		t.Fatalf("after the restart: %d %s", after.Status, after.Body)
	}
	if h := env.Do(http.MethodGet, "/health", "", nil); h.Status != 200 {
		t.Fatalf("health after the restart: %d", h.Status)
	}
	if l := readLedger(t, env, shop.Client.ID); l.processing != 0 {
		t.Fatalf("%d generations stuck in processing", l.processing)
	}
}
