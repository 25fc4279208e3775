package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// request is one POST /generate of the mixed workload.
type request struct {
	test    bool // with the tenant's test key
	prompt  string
	service string
	status  int
	headers []string
	// cancel cancels the generation once it answered (POST /generate/:id/cancel).
	cancel bool
}

// workload is a bit of everything that ends up in the metrics, or must not:
// successes, each kind of failure, a timeout, a replay, a refusal before
// admission, long jobs still processing, a canceled job (counted as failed),
// and test mode.
var workload = []request{
	{prompt: "a red dress", status: 200},
	{prompt: "a blue dress", status: 200},
	{prompt: "a linen suit", service: "banana-pro", status: 200},
	{prompt: "a hat [fake:blocked]", status: 422},
	{prompt: "a scarf [fake:unavailable]", service: "banana-pro", status: 503},
	{prompt: "a coat [fake:error]", status: 502},
	{prompt: "slow boots [fake:sleep=2s]", status: 504, headers: []string{"Prefer", "wait=1"}},
	{prompt: "a replayed skirt", status: 200, headers: []string{"Idempotency-Key", "order-1"}},
	{prompt: "a replayed skirt", status: 200, headers: []string{"Idempotency-Key", "order-1"}},
	{prompt: "a runway walk", service: "veo3", status: 200},
	{prompt: "a long runway walk [fake:sleep=10m]", service: "veo3", status: 202, headers: []string{"Prefer", "wait=1"}},
	{prompt: "a canceled runway walk [fake:sleep=10m]", service: "veo3", status: 202, headers: []string{"Prefer", "wait=0"}, cancel: true},
	{test: true, prompt: "a test dress", status: 200},
	{test: true, prompt: "a test dress", service: "banana-pro", status: 200},
	{test: true, prompt: "a test hat [fake:blocked]", status: 422},
	{test: true, prompt: "a replayed test skirt", status: 200, headers: []string{"Idempotency-Key", "order-2"}},
	{test: true, prompt: "a replayed test skirt", status: 200, headers: []string{"Idempotency-Key", "order-2"}},
	{test: true, prompt: "a long test walk [fake:sleep=10m]", service: "veo3", status: 202, headers: []string{"Prefer", "wait=1"}},
}

// directCounts are a tenant's figures counted straight from generations and
// usage_records, for one mode.
type directCounts struct {
	totals    totalsBody
	byService map[string]countsBody
}

func countDirectly(t *testing.T, env *apptest.Env, clientID *uuid.UUID, mode string) directCounts {
	t.Helper()
	ctx := context.Background()
	d := directCounts{byService: map[string]countsBody{}}
	for _, svc := range tryon.Services {
		d.byService[string(svc)] = countsBody{}
	}
	rows, err := env.Store.Pool().Query(ctx, `
		SELECT g.service, count(*), count(*) FILTER (WHERE g.status = 'succeeded'),
		       count(*) FILTER (WHERE g.status IN ('failed', 'canceled')), count(*) FILTER (WHERE g.status = 'processing'),
		       coalesce((SELECT sum(u.amount_micros) FROM usage_records u JOIN generations ug ON ug.id = u.generation_id
		                 WHERE ug.service = g.service AND ug.mode = $2 AND ($1::uuid IS NULL OR u.client_id = $1)), 0)::bigint
		FROM generations g
		WHERE ($1::uuid IS NULL OR g.client_id = $1) AND g.mode = $2
		GROUP BY g.service`, clientID, mode)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var svc string
		var c countsBody
		var processing int64
		if err := rows.Scan(&svc, &c.Generations, &c.Succeeded, &c.Failed, &processing, &c.CostMicros); err != nil {
			t.Fatal(err)
		}
		d.byService[svc] = c
		d.totals.Generations += c.Generations
		d.totals.Succeeded += c.Succeeded
		d.totals.Failed += c.Failed
		d.totals.Processing += processing
		d.totals.CostMicros += c.CostMicros
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// What was billed per generation agrees with the usage records.
	var billed int64
	if err := env.Store.Pool().QueryRow(ctx, `SELECT coalesce(sum(cost_micros), 0)::bigint FROM generations
		WHERE ($1::uuid IS NULL OR client_id = $1) AND mode = $2`, clientID, mode).Scan(&billed); err != nil {
		t.Fatal(err)
	}
	if billed != d.totals.CostMicros {
		t.Fatalf("generations bill %d, usage records %d", billed, d.totals.CostMicros)
	}
	return d
}

func (b totalsBody) counts() string {
	return fmt.Sprintf("%d generations (%d succeeded, %d failed, %d processing) costing %d", b.Generations,
		b.Succeeded, b.Failed, b.Processing, b.CostMicros)
}

// sameCounts compares reported totals with direct ones, latency aside.
func sameCounts(t *testing.T, what string, got, want totalsBody) {
	t.Helper()
	if got.Generations != want.Generations || got.Succeeded != want.Succeeded || got.Failed != want.Failed ||
		got.Processing != want.Processing || got.CostMicros != want.CostMicros {
		t.Errorf("%s: reported %s, counted %s", what, got.counts(), want.counts())
	}
	if got.Generations != got.Succeeded+got.Failed+got.Processing {
		t.Errorf("%s: %d generations are not %d succeeded + %d failed + %d processing", what, got.Generations,
			got.Succeeded, got.Failed, got.Processing)
	}
}

// checkAgainstDirectCounts checks one metrics answer against the tables:
// live totals and by_service, test totals, and that the series and the
// services add up to the totals.
func checkAgainstDirectCounts(t *testing.T, env *apptest.Env, name string, m metricsBody, clientID *uuid.UUID) {
	t.Helper()
	live, test := countDirectly(t, env, clientID, "live"), countDirectly(t, env, clientID, "test")
	sameCounts(t, name+" live totals", m.Totals, live.totals)
	sameCounts(t, name+" test totals", m.Test, test.totals)
	if m.Test.CostMicros != 0 || m.Test.Cost != 0 {
		t.Errorf("%s: test mode cost %d", name, m.Test.CostMicros)
	}
	if len(m.ByService) != len(live.byService) {
		t.Errorf("%s: by_service %v, counted %v", name, m.ByService, live.byService)
	}
	for svc, want := range live.byService {
		if m.ByService[svc] != want {
			t.Errorf("%s: by_service[%s] = %+v, counted %+v", name, svc, m.ByService[svc], want)
		}
	}
	var series countsBody
	for _, p := range m.Series {
		series.Generations += p.Generations
		series.Succeeded += p.Succeeded
		series.Failed += p.Failed
		series.CostMicros += p.CostMicros
	}
	if series != (countsBody{m.Totals.Generations, m.Totals.Succeeded, m.Totals.Failed, m.Totals.CostMicros}) {
		t.Errorf("%s: the series adds up to %+v, the totals are %+v", name, series, m.Totals)
	}
}

// The metrics of a mixed workload, through the real API, equal a direct
// count over generations and usage_records: for each tenant, from its own
// key and from an admin's, and for the platform, whose by_client adds up to
// its totals. Not one generation or micro-dollar is lost or counted twice.
func TestMetricsConsistency(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	ctx := context.Background()
	rich, poor := tryon.Micros(5_000_000), tryon.Micros(50_000)
	prepaid := env.Tenant(apptest.TenantOptions{BalanceMicros: &rich, RequestsPerMinute: 1000})
	priced := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1000})
	postpaid := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1000})
	broke := env.Tenant(apptest.TenantOptions{BalanceMicros: &poor, RequestsPerMinute: 1000})
	idle := env.Tenant(apptest.TenantOptions{})
	for _, ch := range []struct {
		tenant *apptest.Tenant
		prices map[tryon.Service]tryon.Micros
	}{
		{prepaid, map[tryon.Service]tryon.Micros{tryon.ServiceBanana: 55_000}},
		{priced, map[tryon.Service]tryon.Micros{tryon.ServiceBananaPro: 99_000, tryon.ServiceVeo3: 500_000}},
	} {
		if _, err := env.Store.ChangeClient(ctx, ch.tenant.Client.ID, postgres.ClientChange{Prices: ch.prices, Reason: "test"}); err != nil {
			t.Fatal(err)
		}
	}

	for _, tenant := range []*apptest.Tenant{prepaid, priced, postpaid} {
		var first string
		for _, req := range workload {
			key := tenant.LiveKey
			if req.test {
				key = tenant.TestKey
			}
			body := map[string]any{"prompt": req.prompt}
			if req.service != "" {
				body["service"] = req.service
			}
			g := generate(t, env, key, body, req.status, req.headers...)
			if req.cancel {
				if r := env.Do("POST", "/generate/"+g.ID+"/cancel", key, nil); r.Status != 200 {
					t.Fatalf("cancel: %d %s", r.Status, r.Body)
				}
			}
			if req.headers != nil && req.headers[0] == "Idempotency-Key" && !req.test {
				if first == "" {
					first = g.ID
				} else if g.ID != first {
					t.Fatalf("the replay made generation %s, want %s", g.ID, first)
				}
			}
		}
	}
	generate(t, env, broke.LiveKey, map[string]any{"prompt": "a cheap hat"}, 200)
	if r := env.Generate(broke.LiveKey, map[string]any{"prompt": "one hat too many"}); r.Status != 402 {
		t.Fatalf("over the balance: %d %s", r.Status, r.Body)
	}

	admin := env.Key(nil, tryon.KeyAdmin, nil)
	tenants := []*apptest.Tenant{prepaid, priced, postpaid, broke, idle}
	for _, tenant := range tenants {
		id := tenant.Client.ID
		own := getMetrics(t, env, "/metrics", tenant.LiveKey)
		checkAgainstDirectCounts(t, env, tenant.Client.Name, own, &id)
		byAdmin := getMetrics(t, env, "/metrics/client/"+id.String(), admin)
		checkAgainstDirectCounts(t, env, tenant.Client.Name+" (admin)", byAdmin, &id)
	}

	// Sanity of the workload itself: it did make what the metrics count.
	m := getMetrics(t, env, "/metrics", prepaid.LiveKey)
	if m.Totals.Processing != 1 || m.Test.Processing != 1 || m.Totals.Failed != 5 || m.Totals.Succeeded != 5 {
		t.Fatalf("prepaid totals %+v / test %+v, want 5 succeeded, 5 failed (one canceled) and 1 processing in each mode", m.Totals, m.Test)
	}
	wantCost := int64(3*55_000 + 150_000 + 1_200_000) // banana at its own price, banana-pro and veo3 at the defaults
	if m.Totals.CostMicros != wantCost || m.ByService["veo3"].CostMicros != 1_200_000 {
		t.Fatalf("prepaid cost %d, want %d", m.Totals.CostMicros, wantCost)
	}
	if m.Credits == nil || m.Credits.BalanceMicros != int64(rich)-wantCost || m.Credits.ReservedMicros != 1_200_000 {
		t.Fatalf("prepaid credits %+v, want %d left and the processing video's 1200000 reserved", m.Credits, int64(rich)-wantCost)
	}

	platform := getMetrics(t, env, "/metrics", admin)
	checkAgainstDirectCounts(t, env, "platform", platform, nil)
	if len(platform.ByClient) != len(tenants) {
		t.Fatalf("by_client holds %d tenants, want all %d", len(platform.ByClient), len(tenants))
	}
	var sum countsBody
	seen := map[string]bool{}
	for _, c := range platform.ByClient {
		seen[c.ClientID] = true
		sum.Generations += c.Generations
		sum.Succeeded += c.Succeeded
		sum.Failed += c.Failed
		sum.CostMicros += c.CostMicros
		id := uuid.MustParse(c.ClientID)
		direct := countDirectly(t, env, &id, "live").totals
		if c.Generations != direct.Generations || c.Succeeded != direct.Succeeded || c.Failed != direct.Failed ||
			c.CostMicros != direct.CostMicros || c.Status != "active" || c.Name == "" {
			t.Errorf("by_client %+v, counted %+v", c, direct)
		}
	}
	for _, tenant := range tenants {
		if !seen[tenant.Client.ID.String()] {
			t.Errorf("by_client lacks %s", tenant.Client.Name)
		}
	}
	if sum != (countsBody{platform.Totals.Generations, platform.Totals.Succeeded, platform.Totals.Failed, platform.Totals.CostMicros}) {
		t.Errorf("by_client adds up to %+v, the totals are %+v", sum, platform.Totals)
	}
	for i := 1; i < len(platform.ByClient); i++ {
		if a, b := platform.ByClient[i-1], platform.ByClient[i]; a.CostMicros < b.CostMicros {
			t.Errorf("by_client is not by cost: %s (%d) before %s (%d)", a.Name, a.CostMicros, b.Name, b.CostMicros)
		}
	}
	if last := platform.ByClient[len(platform.ByClient)-1]; last.ClientID != idle.Client.ID.String() || last.Generations != 0 {
		t.Errorf("the idle tenant is not last with zeros: %+v", last)
	}
	var newest []string
	rows, err := env.Store.Pool().Query(ctx, `SELECT id::text FROM generations ORDER BY created_at DESC, id DESC LIMIT 10`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		newest = append(newest, id)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	var recent []string
	for _, g := range platform.Recent {
		recent = append(recent, g.ID)
	}
	if strings.Join(recent, ",") != strings.Join(newest, ",") {
		t.Fatalf("the platform's recent is\n%v, want the newest of all tenants\n%v", recent, newest)
	}
}
