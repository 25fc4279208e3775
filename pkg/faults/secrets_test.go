package faults_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/app"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/bridgetest"
	"github.com/tryonhq/tryon/pkg/config"
	"github.com/tryonhq/tryon/pkg/gemini/geminifake"
	"github.com/tryonhq/tryon/pkg/pgcluster"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/syncbuffer"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestNoSecretInAnswersOrLogs drives the paths where a secret could leak
// (unknown, revoked and malformed keys, every provider failure, the
// database going down, debug logging on) and checks that no answer and no
// log line holds a full API key, the provider key or the database password.
func TestNoSecretInAnswersOrLogs(t *testing.T) {
	ctx := context.Background()
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Stop()
	const password = "pw-Secret-4c1d9e-database"
	const providerKey = "AIzaSy-Secret-provider-key-7f3a2b"
	conn, err := pgx.Connect(ctx, cluster.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE ROLE tryon_app LOGIN SUPERUSER PASSWORD '`+password+`'`); err != nil {
		t.Fatal(err)
	}
	path, _ := postgres.FindSchema()
	if err := postgres.ApplySchema(ctx, conn, path); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	u, _ := url.Parse(cluster.URL)
	u.User = url.UserPassword("tryon_app", password)
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()

	fake := geminifake.New()
	defer fake.Close()
	fake.SetKey(providerKey)
	cfg, err := config.Load(config.Map(map[string]string{
		"DATABASE_URL": u.String(), "LOG_LEVEL": "debug", "CRON_SECRET": "cron-Secret-9d8e7f",
		"PROVIDER_BANANA": "gemini", "PROVIDER_BANANA_PRO": "gemini", "PROVIDER_VEO3": "gemini",
		"GEMINI_API_KEY": providerKey, "GEMINI_BASE_URL": fake.URL(), "BUDGET_MARGIN": "2s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuffer.Buffer{}
	a, err := app.New(cfg, app.Options{Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		AllowPrivate: apptest.Loopback, MaxDurations: map[string]time.Duration{"generate": 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := bridgetest.NewServer(t, a.Server.Function, 0)
	env := &apptest.Env{TB: t, App: a, Store: a.Store, URL: srv.URL, Client: srv.Client()}
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 10_000, MaxConcurrent: 100})
	admin := env.Key(nil, tryon.KeyAdmin, nil)
	revoked := env.Key(&shop.Client.ID, tryon.KeyLive, nil)
	if _, err := a.Store.Pool().Exec(ctx, `UPDATE api_keys SET revoked_at = now() WHERE client_id = $1 AND created_at = (SELECT max(created_at) FROM api_keys WHERE client_id = $1)`, shop.Client.ID); err != nil {
		t.Fatal(err)
	}
	unknown := strings.Replace(shop.LiveKey, shop.LiveKey[len(shop.LiveKey)-8:len(shop.LiveKey)-4], "zzzz", 1)
	secrets := map[string]string{"live key": shop.LiveKey, "test key": shop.TestKey, "admin key": admin,
		"revoked key": revoked, "unknown key": unknown, "provider key": providerKey, "database password": password,
		"cron secret": "cron-Secret-9d8e7f"}

	var answers []*apptest.Response
	do := func(method, path, key string, body any, headers ...string) {
		answers = append(answers, env.Do(method, path, key, body, headers...))
	}
	for _, token := range []string{"", geminifake.Token403, geminifake.Token404, geminifake.Token429, geminifake.Token500,
		geminifake.Token503, geminifake.TokenMalformed, geminifake.TokenBlock, geminifake.TokenNoImage} {
		do(http.MethodPost, "/generate", shop.LiveKey, map[string]any{"prompt": "a coat " + token})
	}
	do(http.MethodPost, "/generate", shop.LiveKey, map[string]any{"prompt": "a coat " + geminifake.TokenVeoDownload404, "service": "veo3"})
	do(http.MethodPost, "/generate", shop.TestKey, map[string]any{"prompt": "a coat"})
	for _, key := range []string{revoked, unknown, shop.LiveKey + "x", "Bearer " + shop.LiveKey} {
		do(http.MethodGet, "/generations", key, nil)
	}
	do(http.MethodGet, "/generations", "", nil, "Authorization", "Bearer "+unknown)
	do(http.MethodGet, "/generations", "", nil, "Authorization", "Bearer "+shop.LiveKey, "X-Client-Key", shop.TestKey)
	do(http.MethodGet, "/metrics", admin, nil)
	do(http.MethodGet, "/api/cron", "", nil, "Authorization", "Bearer wrong")
	fake.SetKey("another-key") // the provider now refuses ours
	do(http.MethodPost, "/generate", shop.LiveKey, map[string]any{"prompt": "a coat"})
	cluster.Crash()
	do(http.MethodPost, "/generate", shop.LiveKey, map[string]any{"prompt": "a coat"})
	do(http.MethodGet, "/generations", admin, nil)
	do(http.MethodGet, "/health", "", nil)
	if err := cluster.Restart(ctx); err != nil {
		t.Fatal(err)
	}

	statuses := map[int]int{}
	for i, r := range answers {
		statuses[r.Status]++
		var headers strings.Builder
		for k, v := range r.Header {
			fmt.Fprintf(&headers, "%s: %s\n", k, strings.Join(v, ", "))
		}
		for name, s := range secrets {
			if strings.Contains(string(r.Body), s) || strings.Contains(headers.String(), s) {
				t.Errorf("answer %d (%d) holds the %s: %s", i, r.Status, name, r.Body)
			}
		}
	}
	logged := logs.String()
	for name, s := range secrets {
		if i := strings.Index(logged, s); i >= 0 {
			start := max(0, strings.LastIndexByte(logged[:i], '\n'))
			end := i + strings.IndexByte(logged[i:], '\n')
			t.Errorf("a log line holds the %s: %s", name, logged[start:end])
		}
	}
	// The paths above were taken: failures, refusals and the outage.
	if statuses[401] == 0 || statuses[503] == 0 || statuses[200] == 0 || len(logged) == 0 {
		t.Errorf("the traffic missed paths it meant to take: %v", statuses)
	}
}
