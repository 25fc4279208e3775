package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/safefetch"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/webhook"
)

func runClient(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usageError{"client needs a subcommand"}
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "token-secret":
		return runTokenSecret(ctx, e, args)
	case "set-retention", "erase":
		return runRetention(ctx, e, sub, args)
	case "statement":
		return runStatement(ctx, e, args)
	case "stripe":
		return runClientStripe(ctx, e, args)
	}
	fs := flag.NewFlagSet("client "+sub, flag.ContinueOnError)
	reason := fs.String("reason", "", "why (recorded in the client's ledger)")
	prepaid := fs.Int64("prepaid", -1, "make the client prepaid with this opening balance in micro-dollars")
	rpm := fs.Int("rpm", 0, "requests per minute per key")
	maxConc := fs.Int("max-concurrent", 0, "generations in flight at once")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	s, err := openStore(e)
	if err != nil {
		return err
	}
	defer s.Close()
	need := func(n int, form string) error {
		if len(pos) != n {
			return usageError{"usage: tryon client " + form}
		}
		return nil
	}
	change := func(ref string, ch postgres.ClientChange) error {
		if *reason == "" {
			return usageError{"-reason is required: every change is recorded in the client's ledger"}
		}
		ch.Reason = *reason
		c, err := findClient(ctx, s, ref)
		if err != nil {
			return err
		}
		c, err = s.ChangeClient(ctx, c.ID, ch)
		if err != nil {
			return err
		}
		return printClient(e, c)
	}
	switch sub {
	case "create":
		if err := need(1, "create <name> [-prepaid MICROS] [-rpm N] [-max-concurrent N]"); err != nil {
			return err
		}
		nc := postgres.NewClient{Name: pos[0], RequestsPerMinute: *rpm, MaxConcurrent: *maxConc}
		if *prepaid >= 0 {
			b := tryon.Micros(*prepaid)
			nc.BalanceMicros = &b
		}
		c, err := s.CreateClient(ctx, nc)
		if err != nil {
			return err
		}
		return printClient(e, c)
	case "list":
		clients, err := s.ListClients(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tBALANCE (USD)\tRESERVED\tRPM\tMAX CONCURRENT")
		for _, c := range clients {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\n", c.ID, c.Name, c.Status, balance(c), c.ReservedMicros, c.RequestsPerMinute, c.MaxConcurrent)
		}
		return tw.Flush()
	case "show":
		if err := need(1, "show <client>"); err != nil {
			return err
		}
		c, err := findClient(ctx, s, pos[0])
		if err != nil {
			return err
		}
		if err := printClient(e, c); err != nil {
			return err
		}
		if err := printRetention(ctx, e, s, c.ID); err != nil {
			return err
		}
		if err := printStripe(ctx, e, s, c.ID.String()); err != nil {
			return err
		}
		entries, err := s.Ledger(ctx, c.ID)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "\nledger:")
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  WHEN\tKIND\tAMOUNT (USD)\tBALANCE AFTER\tDETAILS\tREASON")
		for _, l := range entries {
			after := "-"
			if l.BalanceAfter != nil {
				after = l.BalanceAfter.String()
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", l.CreatedAt, l.Kind, l.AmountMicros, after, l.Details, l.Reason)
		}
		return tw.Flush()
	case "suspend", "activate":
		if err := need(1, sub+" <client> -reason TEXT"); err != nil {
			return err
		}
		status := tryon.ClientSuspended
		if sub == "activate" {
			status = tryon.ClientActive
		}
		return change(pos[0], postgres.ClientChange{Status: status})
	case "set-price":
		if err := need(3, "set-price <client> <service> <micros> -reason TEXT"); err != nil {
			return err
		}
		svc := tryon.Service(pos[1])
		if !svc.Valid() {
			return usageError{"service must be banana, banana-pro, veo3, fashn or vto"}
		}
		p, err := strconv.ParseInt(pos[2], 10, 64)
		if err != nil || p < 0 {
			return usageError{"price must be a whole number of micro-dollars (1 USD = 1000000)"}
		}
		return change(pos[0], postgres.ClientChange{Prices: map[tryon.Service]tryon.Micros{svc: tryon.Micros(p)}})
	case "set-default-service":
		if err := need(2, "set-default-service <client> <service>"); err != nil {
			return err
		}
		svc := tryon.Service(pos[1])
		if !svc.Valid() || svc.IsVideo() {
			return usageError{"service must be banana, banana-pro, fashn or vto"}
		}
		c, err := findClient(ctx, s, pos[0])
		if err != nil {
			return err
		}
		if err := s.SetDefaultService(ctx, c.ID, svc); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: requests without a service now use %s\n", c.Name, svc)
		return nil
	case "set-limits":
		if err := need(1, "set-limits <client> [-rpm N] [-max-concurrent N] -reason TEXT"); err != nil {
			return err
		}
		if *rpm <= 0 && *maxConc <= 0 {
			return usageError{"give -rpm, -max-concurrent or both"}
		}
		return change(pos[0], postgres.ClientChange{Limits: &postgres.Limits{RequestsPerMinute: *rpm, MaxConcurrent: *maxConc}})
	case "credit":
		if len(pos) != 3 || pos[0] != "add" {
			return usageError{"usage: tryon client credit add <client> <micros> -reason TEXT"}
		}
		amount, err := strconv.ParseInt(pos[2], 10, 64)
		if err != nil || amount == 0 {
			return usageError{"amount must be a non-zero whole number of micro-dollars (1 USD = 1000000)"}
		}
		return change(pos[1], postgres.ClientChange{CreditMicros: tryon.Micros(amount)})
	case "billing":
		if len(pos) != 2 || (pos[0] != "prepaid" && pos[0] != "postpaid") {
			return usageError{"usage: tryon client billing prepaid|postpaid <client> -reason TEXT"}
		}
		return change(pos[1], postgres.ClientChange{MakePrepaid: pos[0] == "prepaid", MakePostpaid: pos[0] == "postpaid"})
	case "webhook":
		return runWebhook(ctx, e, s, pos)
	}
	return usageError{fmt.Sprintf("unknown client subcommand %q", sub)}
}

func runWebhook(ctx context.Context, e env, s *postgres.Store, pos []string) error {
	switch {
	case len(pos) == 3 && pos[0] == "set":
		if err := safefetch.CheckURL(pos[2]); err != nil {
			return fmt.Errorf("webhook URL refused: %v", err)
		}
		secret, err := webhook.NewSecret()
		if err != nil {
			return err
		}
		c, err := findClient(ctx, s, pos[1])
		if err != nil {
			return err
		}
		if _, err := s.ChangeClient(ctx, c.ID, postgres.ClientChange{Reason: "webhook set", Webhook: &postgres.Webhook{URL: pos[2], Secret: secret}}); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "webhook for %s: %s\nsigning secret (shown once; verify deliveries with it): %s\n", c.Name, pos[2], secret)
		return nil
	case len(pos) == 2 && pos[0] == "remove":
		c, err := findClient(ctx, s, pos[1])
		if err != nil {
			return err
		}
		_, err = s.ChangeClient(ctx, c.ID, postgres.ClientChange{Reason: "webhook removed", Webhook: &postgres.Webhook{}})
		if err == nil {
			fmt.Fprintf(e.stdout, "webhook for %s removed\n", c.Name)
		}
		return err
	}
	return usageError{"usage: tryon client webhook set <client> <url> | tryon client webhook remove <client>"}
}

func balance(c *tryon.Client) string {
	if c.BalanceMicros == nil {
		return "postpaid"
	}
	return c.BalanceMicros.String()
}

func printClient(e env, c *tryon.Client) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id:\t%s\n", c.ID)
	fmt.Fprintf(tw, "name:\t%s\n", c.Name)
	fmt.Fprintf(tw, "status:\t%s\n", c.Status)
	if c.BalanceMicros != nil {
		fmt.Fprintf(tw, "balance:\t%s USD (%d micros), %s USD reserved by generations in flight\n", c.BalanceMicros, int64(*c.BalanceMicros), c.ReservedMicros)
	} else {
		fmt.Fprintf(tw, "billing:\tpostpaid (%s USD reserved by generations in flight)\n", c.ReservedMicros)
	}
	fmt.Fprintf(tw, "limits:\t%d requests/minute per key, %d generations in flight\n", c.RequestsPerMinute, c.MaxConcurrent)
	var prices []string
	for _, svc := range tryon.Services {
		if p, ok := c.Prices[svc]; ok {
			prices = append(prices, fmt.Sprintf("%s %s USD", svc, p))
		}
	}
	if len(prices) == 0 {
		prices = []string{"the configured defaults"}
	}
	fmt.Fprintf(tw, "prices:\t%s\n", strings.Join(prices, ", "))
	if c.WebhookURL != "" {
		fmt.Fprintf(tw, "webhook:\t%s\n", c.WebhookURL)
	}
	return tw.Flush()
}
