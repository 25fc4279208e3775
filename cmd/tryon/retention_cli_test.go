package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/blob/blobfake"
	"github.com/tryonhq/tryon/pkg/pgtest"
)

func TestRetentionAndEraseCommands(t *testing.T) {
	db := pgtest.URL(t)
	store := blobfake.New(t)
	vars := map[string]string{"DATABASE_URL": db, "BLOB_READ_WRITE_TOKEN": store.Token, "VERCEL_BLOB_API_URL": store.URL}
	tryon := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), args, func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, &out, &out)
		return out.String(), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := tryon(args...)
		if err != nil {
			t.Fatalf("tryon %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	must("client", "create", "shop")
	live := keyRE.FindString(must("key", "create", "shop"))

	if show := must("client", "show", "shop"); !strings.Contains(show, "kept 30 days") {
		t.Fatalf("show lacks the default retention:\n%s", show)
	}
	if out := must("client", "set-retention", "shop", "7", "-reason", "GDPR review"); !strings.Contains(out, "kept 7 days") {
		t.Fatalf("set-retention said %q", out)
	}
	if show := must("client", "show", "shop"); !strings.Contains(show, "kept 7 days") || !strings.Contains(show, "GDPR review") || !strings.Contains(show, `"to": 7`) {
		t.Fatalf("show lacks the retention or its ledger entry:\n%s", show)
	}
	for _, bad := range []string{"0", "3651", "week"} {
		if _, err := tryon("client", "set-retention", "shop", bad); err == nil {
			t.Errorf("set-retention %s was accepted", bad)
		}
	}

	env := apptest.New(t, apptest.Options{DatabaseURL: db, Settings: map[string]string{
		"BLOB_READ_WRITE_TOKEN": store.Token, "VERCEL_BLOB_API_URL": store.URL}})
	var urls []string
	for _, prompt := range []string{"a coat for Ada", "a hat for Ada"} {
		g := env.Generate(live, map[string]any{"prompt": prompt}).Generation(t)
		urls = append(urls, g.Output.URL)
	}

	out := must("client", "erase", "shop")
	if !strings.Contains(out, "erased 2 generations") || !strings.Contains(out, "blob outputs deleted: 2") {
		t.Fatalf("erase said:\n%s", out)
	}
	for _, u := range urls {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s after erase: %d, want 404", u, resp.StatusCode)
		}
	}
	var left int
	if err := env.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM generations WHERE prompt LIKE '%Ada%'`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d prompts left (%v)", left, err)
	}
	var billed int
	if err := env.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM usage_records`).Scan(&billed); err != nil || billed != 2 {
		t.Errorf("%d usage records after erase, want 2 (%v)", billed, err)
	}
	if out := must("client", "erase", "shop"); !strings.Contains(out, "erased 0 generations") {
		t.Errorf("second erase said:\n%s", out)
	}
}
