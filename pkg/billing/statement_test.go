package billing_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/billing"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// statementJSON is GET /billing/statement's data as a client decodes it.
type statementJSON struct {
	ClientID string `json:"client_id"`
	Month    string `json:"month"`
	From     string `json:"from"`
	To       string `json:"to"`
	Lines    []struct {
		Service         string `json:"service"`
		Mode            string `json:"mode"`
		UnitPriceMicros int64  `json:"unit_price_micros"`
		Count           int64  `json:"count"`
		AmountMicros    int64  `json:"amount_micros"`
	} `json:"lines"`
	Adjustments []struct {
		Kind         string `json:"kind"`
		AmountMicros int64  `json:"amount_micros"`
		Reason       string `json:"reason"`
	} `json:"adjustments"`
	Generations          int64  `json:"generations"`
	UsageMicros          int64  `json:"usage_micros"`
	CreditsMicros        int64  `json:"credits_micros"`
	OpeningBalanceMicros *int64 `json:"opening_balance_micros"`
	ClosingBalanceMicros *int64 `json:"closing_balance_micros"`
}

// moveInto moves everything a tenant did since the start of this month
// (its generations, usage records and ledger entries) into another month,
// keeping their order: the test's way of letting time pass.
func moveInto(t *testing.T, env *apptest.Env, clientID string, to time.Time) {
	t.Helper()
	ctx := context.Background()
	since := billing.MonthOf(time.Now()).Start()
	var first time.Time
	if err := env.Store.Pool().QueryRow(ctx, `SELECT min(t) FROM (
		SELECT created_at FROM generations WHERE client_id = $1 AND created_at >= $2 UNION ALL
		SELECT created_at FROM client_ledger WHERE client_id = $1 AND created_at >= $2) x(t)`, clientID, since).Scan(&first); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"generations", "usage_records", "client_ledger"} {
		if _, err := env.Store.Pool().Exec(ctx, `UPDATE `+table+` SET created_at = $3::timestamptz + (created_at - $4::timestamptz)
			WHERE client_id = $1 AND created_at >= $2`, clientID, since, to, first); err != nil {
			t.Fatal(err)
		}
	}
}

func generate(t *testing.T, env *apptest.Env, key, prompt string, want int) string {
	t.Helper()
	r := env.Generate(key, map[string]any{"prompt": prompt})
	if r.Status != want {
		t.Fatalf("POST /generate %q: %d %s, want %d", prompt, r.Status, r.Body, want)
	}
	return r.Generation(t).ID
}

// TestStatementsReconcile builds two months of a prepaid tenant (a price
// change, a failure, a refund, test traffic) and checks each statement
// against the usage records and the ledger, read independently, and the
// months against each other and the balance.
func TestStatementsReconcile(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Options{Settings: map[string]string{"PRICE_BANANA_MICROS": "40000"}})
	ctx := context.Background()
	opening := tryon.Micros(5_000_000)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &opening, RequestsPerMinute: 1000, MaxConcurrent: 10})
	id := shop.Client.ID.String()
	admin := env.Key(nil, tryon.KeyAdmin, nil)

	// September: the tenant is created. October: three live images at the
	// default price, one failure, test traffic.
	moveInto(t, env, id, time.Date(2026, 9, 20, 0, 0, 0, 0, time.UTC))
	var october []string
	for i := range 3 {
		october = append(october, generate(t, env, shop.LiveKey, "a dress "+strconv.Itoa(i), 200))
	}
	generate(t, env, shop.LiveKey, "a hat [fake:error]", 502)
	testIDs := []string{generate(t, env, shop.TestKey, "a test dress", 200), generate(t, env, shop.TestKey, "another", 200)}
	moveInto(t, env, id, time.Date(2026, 10, 10, 12, 0, 0, 0, time.UTC))

	// November: a new price, two images, a refund of one of them and a
	// credit, more test traffic.
	if _, err := env.Store.ChangeClient(ctx, shop.Client.ID, postgres.ClientChange{Reason: "new contract",
		Prices: map[tryon.Service]tryon.Micros{tryon.ServiceBanana: 55_000}}); err != nil {
		t.Fatal(err)
	}
	november := []string{generate(t, env, shop.LiveKey, "a coat", 200), generate(t, env, shop.LiveKey, "a scarf", 200)}
	testIDs = append(testIDs, generate(t, env, shop.TestKey, "a test coat", 200))
	if _, err := env.Store.ChangeClient(ctx, shop.Client.ID, postgres.ClientChange{Reason: "refund: the scarf came out blurred", CreditMicros: 55_000}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.ChangeClient(ctx, shop.Client.ID, postgres.ClientChange{Reason: "goodwill", CreditMicros: 1_000_000}); err != nil {
		t.Fatal(err)
	}
	moveInto(t, env, id, time.Date(2026, 11, 30, 23, 50, 0, 0, time.UTC))

	get := func(month string) statementJSON {
		t.Helper()
		r := env.Do("GET", "/billing/statement?month="+month, shop.LiveKey, nil)
		if r.Status != 200 {
			t.Fatalf("statement %s: %d %s", month, r.Status, r.Body)
		}
		var s statementJSON
		if err := json.Unmarshal(r.Data, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	sep, oct, nov := get("2026-09"), get("2026-10"), get("2026-11")

	for _, s := range []statementJSON{sep, oct, nov} {
		// Against the usage records and the ledger, summed here by SQL.
		from, _ := time.Parse(time.RFC3339, s.From)
		var usage, count, credits int64
		if err := env.Store.Pool().QueryRow(ctx, `SELECT coalesce(sum(amount_micros), 0), count(*) FROM usage_records
			WHERE client_id = $1 AND created_at >= $2 AND created_at < $3`, id, from, from.AddDate(0, 1, 0)).Scan(&usage, &count); err != nil {
			t.Fatal(err)
		}
		if err := env.Store.Pool().QueryRow(ctx, `SELECT coalesce(sum(amount_micros), 0) FROM client_ledger
			WHERE client_id = $1 AND kind IN ('credit', 'create') AND created_at >= $2 AND created_at < $3`, id, from, from.AddDate(0, 1, 0)).Scan(&credits); err != nil {
			t.Fatal(err)
		}
		var lineSum, lineCount int64
		for _, l := range s.Lines {
			if l.Mode != "live" || l.AmountMicros != l.UnitPriceMicros*l.Count {
				t.Errorf("%s: line %+v", s.Month, l)
			}
			lineSum, lineCount = lineSum+l.AmountMicros, lineCount+l.Count
		}
		if s.UsageMicros != usage || lineSum != usage || s.Generations != count || lineCount != count {
			t.Errorf("%s: usage %d over %d generations (lines %d over %d), usage records hold %d over %d",
				s.Month, s.UsageMicros, s.Generations, lineSum, lineCount, usage, count)
		}
		if s.CreditsMicros != credits {
			t.Errorf("%s: credits %d, ledger holds %d", s.Month, s.CreditsMicros, credits)
		}
		if s.ClosingBalanceMicros == nil || (s.OpeningBalanceMicros == nil) != (s.Month == "2026-09") {
			t.Fatalf("%s: balances %v %v: a prepaid tenant's statement has both, but none opens before it existed", s.Month, s.OpeningBalanceMicros, s.ClosingBalanceMicros)
		}
		open := int64(0)
		if s.OpeningBalanceMicros != nil {
			open = *s.OpeningBalanceMicros
		}
		if got, want := *s.ClosingBalanceMicros, open+s.CreditsMicros-s.UsageMicros; got != want {
			t.Errorf("%s: closing %d, want opening %d + credits %d - usage %d = %d", s.Month, got, open, s.CreditsMicros, s.UsageMicros, want)
		}
	}
	if *sep.ClosingBalanceMicros != 5_000_000 || sep.CreditsMicros != 5_000_000 {
		t.Errorf("September: closing %d, credits %d; want 5000000 (the opening credit) for both", *sep.ClosingBalanceMicros, sep.CreditsMicros)
	}
	if *oct.OpeningBalanceMicros != *sep.ClosingBalanceMicros || *nov.OpeningBalanceMicros != *oct.ClosingBalanceMicros {
		t.Errorf("a month does not open where the last closed: %d/%d, %d/%d", *sep.ClosingBalanceMicros, *oct.OpeningBalanceMicros, *oct.ClosingBalanceMicros, *nov.OpeningBalanceMicros)
	}
	if len(oct.Lines) != 1 || oct.Lines[0].UnitPriceMicros != 40_000 || oct.Lines[0].Count != 3 || oct.UsageMicros != 120_000 {
		t.Errorf("October: %+v, want 3 banana at 40000", oct.Lines)
	}
	if len(nov.Lines) != 1 || nov.Lines[0].UnitPriceMicros != 55_000 || nov.Lines[0].Count != 2 {
		t.Errorf("November: %+v, want 2 banana at 55000", nov.Lines)
	}
	if len(nov.Adjustments) != 2 || nov.Adjustments[0].Reason != "refund: the scarf came out blurred" || nov.CreditsMicros != 1_055_000 {
		t.Errorf("November's adjustments: %+v", nov.Adjustments)
	}
	c, err := env.Store.FindClient(ctx, shop.Client.ID)
	if err != nil {
		t.Fatal(err)
	}
	if *nov.ClosingBalanceMicros != int64(*c.BalanceMicros) {
		t.Errorf("November closes at %d; the balance is %d", *nov.ClosingBalanceMicros, *c.BalanceMicros)
	}
	if dec := get("2026-12"); *dec.OpeningBalanceMicros != int64(*c.BalanceMicros) || dec.Generations != 0 {
		t.Errorf("December so far: %+v", dec)
	}

	// The CSV: exactly the month's billed generations, never test traffic.
	for month, want := range map[string][]string{"2026-10": october, "2026-11": november} {
		for _, how := range [][]string{{"?format=csv"}, {"", "Accept", "text/csv"}} {
			r := env.Do("GET", "/billing/statement?month="+month+how[0], "", nil, append([]string{"x-client-key", admin}, how[1:]...)...)
			if r.Status != 400 {
				t.Errorf("admin without client_id: %d, want 400", r.Status)
			}
			r = env.Do("GET", "/billing/statement?month="+month+"&client_id="+id+strings.Replace(how[0], "?", "&", 1), admin, nil, how[1:]...)
			if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("CSV %s: %d %s %s", month, r.Status, r.Header.Get("Content-Type"), r.Body)
			}
			rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(rows[0], ",") != strings.Join(billing.CSVHeader, ",") {
				t.Errorf("CSV header %v", rows[0])
			}
			got := map[string]bool{}
			for _, row := range rows[1:] {
				got[row[0]] = true
				if row[4] != "live" {
					t.Errorf("CSV row of mode %s", row[4])
				}
			}
			if len(rows)-1 != len(want) {
				t.Errorf("CSV %s has %d rows, want %d", month, len(rows)-1, len(want))
			}
			for _, g := range want {
				if !got[g] {
					t.Errorf("CSV %s lacks generation %s", month, g)
				}
			}
			for _, g := range testIDs {
				if got[g] {
					t.Errorf("CSV %s holds test generation %s", month, g)
				}
			}
		}
	}
}

// A postpaid tenant's statement has no balances; a tenant reads only its
// own; the month must be well formed and not in the future.
func TestStatementAccess(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	other := env.Tenant(apptest.TenantOptions{})
	admin := env.Key(nil, tryon.KeyAdmin, nil)
	generate(t, env, shop.LiveKey, "a dress", 200)
	month := billing.MonthOf(time.Now()).String()

	r := env.Do("GET", "/billing/statement?month="+month, shop.LiveKey, nil)
	var s statementJSON
	if err := json.Unmarshal(r.Data, &s); r.Status != 200 || err != nil {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if s.OpeningBalanceMicros != nil || s.ClosingBalanceMicros != nil || s.Generations != 1 || s.UsageMicros != 40_000 {
		t.Errorf("postpaid statement: %s", r.Data)
	}
	// Made prepaid during the month: no opening balance, a closing one equal
	// to the balance.
	ctx := context.Background()
	if _, err := env.Store.ChangeClient(ctx, shop.Client.ID, postgres.ClientChange{Reason: "now prepaid", MakePrepaid: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.ChangeClient(ctx, shop.Client.ID, postgres.ClientChange{Reason: "first credit", CreditMicros: 300_000}); err != nil {
		t.Fatal(err)
	}
	generate(t, env, shop.LiveKey, "a coat", 200)
	r = env.Do("GET", "/billing/statement?month="+month, shop.LiveKey, nil)
	s = statementJSON{}
	if err := json.Unmarshal(r.Data, &s); r.Status != 200 || err != nil {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if s.OpeningBalanceMicros != nil || s.ClosingBalanceMicros == nil || *s.ClosingBalanceMicros != 260_000 || s.UsageMicros != 80_000 || s.CreditsMicros != 300_000 {
		t.Errorf("statement of a tenant made prepaid mid-month: %s", r.Data)
	}

	for _, c := range []struct {
		name, path, key string
		want            int
	}{
		{"OwnIDAllowed", "/billing/statement?month=" + month + "&client_id=" + shop.Client.ID.String(), shop.TestKey, 200},
		{"OtherTenantNotFound", "/billing/statement?month=" + month + "&client_id=" + other.Client.ID.String(), shop.LiveKey, 404},
		{"AdminReadsAnyone", "/billing/statement?month=" + month + "&client_id=" + other.Client.ID.String(), admin, 200},
		{"UnknownTenantNotFound", "/billing/statement?month=" + month + "&client_id=0190a1b2-0000-7000-8000-000000000000", admin, 404},
		{"MonthRequired", "/billing/statement", shop.LiveKey, 400},
		{"MonthMalformed", "/billing/statement?month=2026-13", shop.LiveKey, 400},
		{"MonthInFuture", "/billing/statement?month=2999-01", shop.LiveKey, 400},
		{"FormatUnknown", "/billing/statement?month=" + month + "&format=pdf", shop.LiveKey, 400},
		{"NoKey", "/billing/statement?month=" + month, "", 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			if r := env.Do("GET", c.path, c.key, nil); r.Status != c.want {
				t.Errorf("%d %s, want %d", r.Status, r.Body, c.want)
			}
		})
	}
}
