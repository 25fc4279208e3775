package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/tryonhq/tryon/pkg/billing"
)

// runStatement serves `tryon client statement <client> -month YYYY-MM
// [-csv]`: the month's statement (the current month by default), or with
// -csv every billed generation of it.
func runStatement(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("client statement", flag.ContinueOnError)
	monthFlag := fs.String("month", billing.MonthOf(time.Now()).String(), "the month, YYYY-MM (months run in UTC)")
	asCSV := fs.Bool("csv", false, "print every billed generation of the month as CSV instead")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"usage: tryon client statement <client> [-month YYYY-MM] [-csv]"}
	}
	month, err := billing.ParseMonth(*monthFlag)
	if err != nil {
		return usageError{"-month must be YYYY-MM, e.g. 2026-11"}
	}
	s, err := openStore(e)
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := findClient(ctx, s, pos[0])
	if err != nil {
		return err
	}
	stmts := &billing.Statements{Store: s}
	if *asCSV {
		return stmts.WriteCSV(ctx, e.stdout, c.ID, month)
	}
	st, err := stmts.Statement(ctx, c.ID, month)
	if err != nil {
		return err
	}
	return printStatement(e, st)
}

func printStatement(e env, st *billing.Statement) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "statement:\t%s, %s (%s to %s UTC)\n", st.ClientName, st.Month,
		st.Month.Start().Format(time.DateOnly), st.Month.End().Format(time.DateOnly))
	if st.OpeningBalance != nil {
		fmt.Fprintf(tw, "opening balance:\t%s USD\n", *st.OpeningBalance)
	}
	fmt.Fprintln(tw, "\nSERVICE\tMODE\tUNIT PRICE (USD)\tCOUNT\tAMOUNT (USD)")
	for _, l := range st.Lines {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", l.Service, l.Mode, l.UnitPriceMicros, l.Count, l.AmountMicros)
	}
	fmt.Fprintf(tw, "usage\t\t\t%d\t%s\n", st.Generations, st.UsageMicros)
	if len(st.Adjustments) > 0 {
		fmt.Fprintln(tw, "\nWHEN\tKIND\tAMOUNT (USD)\tREASON\t")
		for _, a := range st.Adjustments {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", a.At.UTC().Format(time.RFC3339), a.Kind, a.AmountMicros, a.Reason)
		}
		fmt.Fprintf(tw, "credits\t\t%s\t\t\n", st.CreditsMicros)
	}
	if st.ClosingBalance != nil {
		fmt.Fprintf(tw, "\nclosing balance:\t%s USD\n", *st.ClosingBalance)
	} else {
		fmt.Fprintf(tw, "\namount due (postpaid):\t%s USD\n", st.UsageMicros)
	}
	return tw.Flush()
}

// runClientStripe serves `tryon client stripe ...`.
func runClientStripe(ctx context.Context, e env, args []string) error {
	s, err := openStore(e)
	if err != nil {
		return err
	}
	defer s.Close()
	return runStripe(ctx, e, s, args)
}
