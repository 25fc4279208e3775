package main

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/billing"
	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/postgres"
)

// The statement, its CSV and the Stripe link from the CLI, against what the
// API charged.
func TestClientStatementAndStripeCommands(t *testing.T) {
	db := pgtest.URL(t)
	c := cli{t, db}
	c.must("client", "create", "acme", "-prepaid", "1000000")
	live := keyRE.FindString(c.must("key", "create", "acme"))
	out := c.must("client", "stripe", "link", "acme", "cus_AcmeCorp42")
	if !strings.Contains(out, "cus_AcmeCorp42") {
		t.Fatalf("link:\n%s", out)
	}
	if _, err := c.run("client", "stripe", "link", "acme", "acct_123"); err == nil {
		t.Error("a non-customer id was linked")
	}

	env := apptest.New(t, apptest.Options{DatabaseURL: db})
	var ids []string
	for _, p := range []string{"a hat", "a scarf"} {
		r := env.Generate(live, map[string]any{"prompt": p})
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		ids = append(ids, r.Generation(t).ID)
	}
	month := billing.MonthOf(time.Now()).String()
	out = c.must("client", "statement", "acme", "-month", month)
	for _, want := range []string{"acme, " + month, "banana", "0.04", "usage", "0.08", "closing balance:  0.92 USD"} {
		if !strings.Contains(out, want) {
			t.Errorf("statement lacks %q:\n%s", want, out)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(c.must("client", "statement", "acme", "-month", month, "-csv"))).ReadAll()
	if err != nil || len(rows) != 3 || rows[1][0] != ids[0] || rows[2][0] != ids[1] || rows[1][7] != "40000" {
		t.Errorf("CSV %v %v, want the two generations", rows, err)
	}
	if _, err := c.run("client", "statement", "acme", "-month", "November"); err == nil {
		t.Error("a malformed month was accepted")
	}

	// Both charges wait in the outbox (STRIPE_SECRET_KEY is not set here),
	// and the operator sees them; a failed one shows its error.
	if _, err := env.Store.Pool().Exec(context.Background(), `UPDATE stripe_meter_events SET status = 'failed', last_error = 'stripe 400 invalid_request_error: No such customer'
		WHERE generation_id = $1`, ids[0]); err != nil {
		t.Fatal(err)
	}
	out = c.must("client", "show", "acme")
	if !strings.Contains(out, "customer cus_AcmeCorp42; meter events: 0 sent, 1 pending, 1 failed") || !strings.Contains(out, "No such customer") {
		t.Errorf("show:\n%s", out)
	}
	c.must("client", "stripe", "link", "acme", "cus_AcmeCorp43")
	if out := c.must("client", "stripe", "retry", "acme"); !strings.HasPrefix(out, "1 failed meter events") {
		t.Errorf("retry: %s", out)
	}
	var customers []string
	err = env.Store.Pool().QueryRow(context.Background(),
		`SELECT array_agg(customer_id ORDER BY customer_id) FROM stripe_meter_events`).Scan(&customers)
	// The retried event goes to the customer linked now; the pending one
	// keeps the customer of its charge.
	if strings.Join(customers, ",") != "cus_AcmeCorp42,cus_AcmeCorp43" {
		t.Errorf("customers after relink and retry: %v (%v)", customers, err)
	}
	st, err := env.Store.StripeMeterStateOf(context.Background(), mustClient(t, env.Store, "acme"))
	if err != nil || st.Pending != 2 || st.Failed != 0 {
		t.Errorf("after retry: %+v %v", st, err)
	}
}

func mustClient(t *testing.T, s *postgres.Store, name string) uuid.UUID {
	t.Helper()
	cl, err := s.FindClientByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return cl.ID
}
