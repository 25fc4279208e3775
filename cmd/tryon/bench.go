package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/tryonhq/tryon/pkg/pgcluster"
)

func runBench(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usageError{"bench needs generate, metrics, hostile or load"}
	}
	switch args[0] {
	case "generate":
		return benchGenerate(ctx, e, args[1:])
	case "metrics":
		return benchMetrics(ctx, e, args[1:])
	case "hostile":
		return benchHostile(ctx, e, args[1:])
	case "load":
		return benchLoad(ctx, e, args[1:])
	}
	return usageError{fmt.Sprintf("unknown benchmark %q", args[0])}
}

// benchDatabase returns the database a benchmark runs against, migrated:
// DATABASE_URL, or a throwaway cluster started with the given extra server
// settings (stopped by the returned function). where describes it for the
// report.
func benchDatabase(ctx context.Context, e env, settings ...string) (url, where string, stop func(), err error) {
	url, where, stop = e.get("DATABASE_URL"), "DATABASE_URL", func() {}
	if url == "" {
		fmt.Fprintln(e.stderr, "starting a throwaway PostgreSQL…")
		c, err := pgcluster.Start(ctx, pgcluster.Options{Settings: settings})
		if err != nil {
			return "", "", nil, err
		}
		url, where, stop = c.URL, "a throwaway pgcluster", c.Stop
	}
	if err := migrate(ctx, url); err != nil {
		stop()
		return "", "", nil, err
	}
	return url, where, stop, nil
}

// commandLine quotes args for a POSIX shell, so the printed command can be
// pasted back.
func commandLine(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,") == "" {
			quoted[i] = a
		} else {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(quoted, " ")
}
