package generation_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
)

type page struct {
	Items      []apptest.Generation `json:"items"`
	NextCursor *string              `json:"next_cursor"`
}

func listPage(t *testing.T, env *apptest.Env, key, query string) page {
	t.Helper()
	r := env.Do(http.MethodGet, "/generations?"+query, key, nil)
	if r.Status != 200 {
		t.Fatalf("GET /generations?%s: %d %s", query, r.Status, r.Body)
	}
	var p page
	if err := json.Unmarshal(r.Data, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestListPagesNewestFirstWithFilters(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	var ids []string
	for i := range 7 {
		key, prompt := shop.TestKey, "a hat"
		if i%3 == 0 {
			key = shop.LiveKey
		}
		if i == 4 {
			prompt = "a hat [fake:blocked]"
		}
		ids = append(ids, env.Generate(key, map[string]any{"prompt": prompt}).Generation(t).ID)
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		q := "limit=3"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		p := listPage(t, env, shop.LiveKey, q)
		for _, g := range p.Items {
			seen = append(seen, g.ID)
		}
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if len(seen) != len(ids) {
		t.Fatalf("listed %d, made %d", len(seen), len(ids))
	}
	for i := range ids {
		if seen[i] != ids[len(ids)-1-i] {
			t.Fatalf("order: got %v, want newest first of %v", seen, ids)
		}
	}
	if p := listPage(t, env, shop.LiveKey, "mode=live"); len(p.Items) != 3 {
		t.Fatalf("mode=live: %d items, want 3", len(p.Items))
	}
	if p := listPage(t, env, shop.LiveKey, "status=failed"); len(p.Items) != 1 || p.Items[0].ID != ids[4] {
		t.Fatalf("status=failed: %+v", p.Items)
	}
	if p := listPage(t, env, shop.LiveKey, "service=veo3"); len(p.Items) != 0 {
		t.Fatalf("service=veo3: %+v", p.Items)
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "status=done", "service=dalle", "mode=prod", "cursor=zzz"} {
		r := env.Do(http.MethodGet, "/generations?"+q, shop.LiveKey, nil)
		if r.Status != 400 || len(r.Details) != 1 {
			t.Fatalf("%s: got %d %s", q, r.Status, r.Body)
		}
	}
}
