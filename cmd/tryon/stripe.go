package main

import (
	"context"
	"fmt"
	"regexp"

	"github.com/tryonhq/tryon/pkg/app"
	"github.com/tryonhq/tryon/pkg/httpapi"
	"github.com/tryonhq/tryon/pkg/postgres"
)

// drainMeter sends due Stripe meter events, as the cron function does after
// its sweep; nothing when Stripe is not configured.
func drainMeter(ctx context.Context, a *app.App) {
	if a.Billing.Meter == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, httpapi.MeterDrainTime)
	defer cancel()
	rep, err := a.Billing.Meter.Drain(ctx, httpapi.MeterDrainMax)
	switch {
	case err != nil:
		a.Log.Error("stripe meter drain", "error", err)
	case rep.Sent+rep.Retry+rep.Failed > 0:
		a.Log.Info("stripe meter drain", "report", rep)
	}
}

var stripeCustomerID = regexp.MustCompile(`^cus_[A-Za-z0-9]+$`)

// runStripe serves `tryon client stripe ...`.
func runStripe(ctx context.Context, e env, s *postgres.Store, pos []string) error {
	const form = "usage: tryon client stripe link <client> <cus_...> | stripe unlink <client> | stripe retry <client>"
	if len(pos) < 2 {
		return usageError{form}
	}
	c, err := findClient(ctx, s, pos[1])
	if err != nil {
		return err
	}
	switch {
	case pos[0] == "link" && len(pos) == 3:
		if !stripeCustomerID.MatchString(pos[2]) {
			return usageError{"a Stripe customer id looks like cus_NffrFeUfNV2Hib"}
		}
		if err := s.LinkStripeCustomer(ctx, c.ID, pos[2]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s is billed to Stripe customer %s: its usage from now on is sent as meter events\n", c.Name, pos[2])
		return nil
	case pos[0] == "unlink" && len(pos) == 2:
		if err := s.UnlinkStripeCustomer(ctx, c.ID); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s is no longer billed through Stripe (events already queued are still sent)\n", c.Name)
		return nil
	case pos[0] == "retry" && len(pos) == 2:
		n, err := s.RetryFailedMeterEvents(ctx, c.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d failed meter events of %s queued again, to its current Stripe customer\n", n, c.Name)
		return nil
	}
	return usageError{form}
}

// printStripe adds a tenant's Stripe state to `tryon client show`.
func printStripe(ctx context.Context, e env, s *postgres.Store, c string) error {
	cl, err := findClient(ctx, s, c)
	if err != nil {
		return err
	}
	st, err := s.StripeMeterStateOf(ctx, cl.ID)
	if err != nil {
		return err
	}
	if st.CustomerID == "" && st.Pending+st.Failed+st.Sent == 0 {
		return nil
	}
	customer := st.CustomerID
	if customer == "" {
		customer = "(unlinked)"
	}
	fmt.Fprintf(e.stdout, "stripe:\tcustomer %s; meter events: %d sent, %d pending, %d failed\n", customer, st.Sent, st.Pending, st.Failed)
	if st.LastError != "" {
		fmt.Fprintf(e.stdout, "stripe error:\t%s (fix it, then: tryon client stripe retry %s)\n", st.LastError, cl.Name)
	}
	return nil
}
