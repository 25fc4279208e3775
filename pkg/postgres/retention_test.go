package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/apikey"

	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// seedOutputs inserts n succeeded generations of the tenant completed
// daysAgo days ago, each with its output's bytes in assets.
func seedOutputs(tb testing.TB, s *postgres.Store, c *tryon.Client, k *tryon.APIKey, n, daysAgo int) {
	tb.Helper()
	_, err := s.Pool().Exec(context.Background(), `
		WITH rows AS (
			SELECT gen_random_uuid() AS id, substr(md5(random()::text) || md5(random()::text), 1, 22) AS token
			FROM generate_series(1, $3)
		), assets AS (
			INSERT INTO assets (token, content_type, data) SELECT token, 'image/png', '\x89504e47' FROM rows
		)
		INSERT INTO generations (id, client_id, key_id, status, mode, service, provider, model, prompt, width, height,
			created_at, deadline, completed_at, output_url, output_content_type, output_width, output_height, output_bytes)
		SELECT id, $1, $2, 'succeeded', 'live', 'banana', 'fake', 'fake-banana', 'a dress', 64, 64,
			now() - $4 * interval '1 day', now() - $4 * interval '1 day', now() - $4 * interval '1 day',
			'/assets/' || token || '.png', 'image/png', 64, 64, 4
		FROM rows`, c.ID, k.ID, n, daysAgo)
	if err != nil {
		tb.Fatal(err)
	}
}

func TestExpireOutputsTakesOnlyWhatIsDue(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	short, shortKey := tenant(t, s, nil)
	long, longKey := tenant(t, s, nil)
	if err := s.SetRetention(ctx, short.ID, 1, "test"); err != nil {
		t.Fatal(err)
	}
	entries, err := s.Ledger(ctx, short.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := entries[len(entries)-1]
	if last.Kind != "limits" || !strings.Contains(string(last.Details), `"retention_days": {"to": 1, "from": 30}`) || last.Reason != "test" {
		t.Fatalf("ledger entry %+v %s, want limits with retention_days from 30 to 1", last, last.Details)
	}
	seedOutputs(t, s, short, shortKey, 5, 2) // due: past 1 day
	seedOutputs(t, s, long, longKey, 7, 2)   // kept: within 30 days
	seedOutputs(t, s, long, longKey, 3, 31)  // due
	n, err := s.ExpireOutputs(ctx, 200)
	if err != nil || n != 8 {
		t.Fatalf("ExpireOutputs = %d, %v; want 8", n, err)
	}
	var assets, tombstones, withOutput int
	s.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM assets), (SELECT count(*) FROM erased_assets),
		(SELECT count(*) FROM generations WHERE output_url IS NOT NULL)`).Scan(&assets, &tombstones, &withOutput)
	if assets != 7 || tombstones != 8 || withOutput != 7 {
		t.Errorf("assets %d, tombstones %d, generations with outputs %d; want 7, 8, 7", assets, tombstones, withOutput)
	}
	if n, err := s.ExpireOutputs(ctx, 200); err != nil || n != 0 {
		t.Errorf("again: %d, %v; want 0", n, err)
	}
	t.Run("Bounded", func(t *testing.T) {
		seedOutputs(t, s, long, longKey, 25, 40)
		if n, err := s.ExpireOutputs(ctx, 10); err != nil || n != 10 {
			t.Errorf("ExpireOutputs(10) = %d, %v; want 10", n, err)
		}
	})
}

// BenchmarkExpireOutputs measures one sweep batch (200 generations) among
// 20,000 generations still within their retention.
func BenchmarkExpireOutputs(b *testing.B) {
	s := pgtest.NewStore(b)
	ctx := context.Background()
	c, k := benchTenant(b, s)
	seedOutputs(b, s, c, k, 20_000, 1)
	if _, err := s.Pool().Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		seedOutputs(b, s, c, k, 200, 40)
		b.StartTimer()
		if n, err := s.ExpireOutputs(ctx, 200); err != nil || n != 200 {
			b.Fatalf("ExpireOutputs = %d, %v", n, err)
		}
	}
}

// benchTenant is tenant for a benchmark.
func benchTenant(b *testing.B, s *postgres.Store) (*tryon.Client, *tryon.APIKey) {
	ctx := context.Background()
	c, err := s.CreateClient(ctx, postgres.NewClient{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	k, err := apikey.New(tryon.KeyLive)
	if err != nil {
		b.Fatal(err)
	}
	key, err := s.CreateKey(ctx, &c.ID, k, "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	return c, key
}
