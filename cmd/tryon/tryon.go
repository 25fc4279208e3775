// Command tryon runs Tryon locally and manages a deployment's database:
//
//	tryon dev                 a throwaway Postgres, a demo tenant, every route on :3000
//	tryon serve               every route on :3000 against DATABASE_URL
//	tryon migrate             apply schema.sql to DATABASE_URL
//	tryon client ...          create, list, show, suspend, price, limit and credit tenants
//	tryon key ...             create, list and revoke API keys
//	tryon bench ...           measure generate and metrics
//	tryon config              list the configuration variables
//	tryon vercel-json [-w]    print (or write) vercel.json from the route table
//
// main only calls run, so tests run the real program in-process.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tryon:", err)
		var u usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// env is the environment the commands read, injectable for tests.
type env struct {
	lookup func(string) (string, bool)
	stdout io.Writer
	stderr io.Writer
}

func (e env) get(name string) string {
	v, _ := e.lookup(name)
	return v
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg + "\n\n" + usage }

const usage = `usage: tryon <command> [arguments]

  dev [-port 3000 | -addr HOST:PORT] [-webhook http://localhost:PORT/PATH]
                                       run everything locally: a throwaway Postgres, a demo tenant, the fake provider
                                       (-webhook: deliver the demo tenant's webhooks to a receiver on this machine)
  serve [-port 3000 | -addr HOST:PORT] serve every route against DATABASE_URL (configured like a deployment)
  migrate                              apply schema.sql to DATABASE_URL (use Neon's direct, not pooled, URL)
  config                               list the configuration variables
  vercel-json [-w]                     print vercel.json from the route table (-w: write it)
  client create <name> [-prepaid MICROS] [-rpm N] [-max-concurrent N]
  client list
  client show <client>
  client suspend|activate <client> -reason TEXT
  client set-price <client> <service> <micros> -reason TEXT
  client set-limits <client> [-rpm N] [-max-concurrent N] -reason TEXT
  client set-default-service <client> <service>
  client set-retention <client> <days> [-reason TEXT]   keep outputs DAYS (1 to 3650) after completion (default 30)
  client erase <client>                               offboarding: erase every generation's outputs, prompts, metadata
  client credit add <client> <micros> -reason TEXT     (negative to take credit back)
  client billing prepaid|postpaid <client> -reason TEXT
  client webhook set <client> <url> | client webhook remove <client>
  client token-secret rotate <client> [-grace 15m]   new signing secret for client tokens (shown once)
  client statement <client> [-month YYYY-MM] [-csv]   a month's statement (UTC), or its CSV of billed generations
  client stripe link <client> <cus_...> | client stripe unlink <client> | client stripe retry <client>
  key create <client> [-kind live|test] [-name TEXT] [-expires 720h]
  key create -admin [-name TEXT]
  key list <client> | key list -admin
  key revoke <key id, key or prefix>
  bench generate [-clients 8] [-requests 2000]
  bench metrics [-sizes 10000,100000,1000000,10000000]
  bench hostile [-clients 16] [-rounds 3] [-memlimit 100MiB]
  bench load [-requests 2000] [-latency 5s] [-pool 4]

<client> is a client's id or name. Commands that use the database read DATABASE_URL.`

func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	e := env{lookup: lookup, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		return usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "dev":
		return runDev(ctx, e, rest)
	case "serve":
		return runServe(ctx, e, rest)
	case "migrate":
		return runMigrate(ctx, e, rest)
	case "config":
		return runConfig(e)
	case "vercel-json":
		return runVercelJSON(e, rest)
	case "client":
		return runClient(ctx, e, rest)
	case "key":
		return runKey(ctx, e, rest)
	case "bench":
		return runBench(ctx, e, rest)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}
