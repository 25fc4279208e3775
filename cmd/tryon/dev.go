package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/app"
	"github.com/tryonhq/tryon/pkg/config"
	"github.com/tryonhq/tryon/pkg/pgcluster"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/webhook"
)

// runDev starts everything a newcomer needs, with no account anywhere: a
// throwaway Postgres (unless DATABASE_URL is set), the schema, a demo
// tenant with a live and a test key, the fake provider, and every route.
func runDev(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	addr := listenFlags(fs)
	hook := fs.String("webhook", "", "deliver the demo tenant's webhooks to this local receiver (http://localhost:PORT/...)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *hook != "" {
		if err := checkLocalReceiver(*hook); err != nil {
			return err
		}
	}
	config.ApplyMemoryLimit(os.LookupEnv) // as serve does
	l, err := net.Listen("tcp", addr())
	if err != nil {
		return fmt.Errorf("listen on %s: %w (another tryon dev running? use -port or -addr)", addr(), err)
	}
	defer l.Close()

	dbURL := e.get("DATABASE_URL")
	if dbURL == "" {
		fmt.Fprintln(e.stderr, "starting a throwaway PostgreSQL…")
		c, err := pgcluster.Start(ctx, pgcluster.Options{})
		if err != nil {
			return err
		}
		defer c.Stop()
		dbURL = c.URL
	}
	if err := migrate(ctx, dbURL); err != nil {
		return err
	}

	base := "http://localhost:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	// Locally the fake provider serves every service and any browser page may
	// call the API, unless the environment says otherwise. Output URLs follow
	// the host each request came to (no PUBLIC_BASE_URL), so a page opened at
	// 127.0.0.1 gets 127.0.0.1 URLs and one at localhost gets localhost URLs.
	defaults := map[string]string{
		"DATABASE_URL": dbURL, "CORS_ALLOWED_ORIGINS": "*",
		"PROVIDER_BANANA": "fake", "PROVIDER_BANANA_PRO": "fake", "PROVIDER_VEO3": "fake",
	}
	cfg, err := config.Load(func(name string) (string, bool) {
		if name == "DATABASE_URL" {
			return dbURL, true
		}
		if v, ok := e.lookup(name); ok && v != "" {
			return v, true
		}
		v, ok := defaults[name]
		return v, ok
	})
	if err != nil {
		return err
	}
	opts := app.Options{}
	if *hook != "" {
		// Only `tryon dev -webhook` lets deliveries reach loopback.
		opts.WebhookAllow = loopback
	}
	a, err := app.New(cfg, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	live, test, admin, err := demoTenant(ctx, a.Store)
	if err != nil {
		return err
	}
	if *hook != "" {
		secret, err := demoWebhook(ctx, a.Store, *hook)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "\nwebhooks of the demo tenant go to %s\n  signing secret: %s\n", *hook, secret)
	}
	fmt.Fprintf(e.stdout, `
Tryon is running at %[1]s (fake provider; Ctrl-C stops it and deletes the database)

  DATABASE_URL=%[2]s
  demo live key:  %[3]s
  demo test key:  %[4]s
  admin key:      %[5]s

Try it:

  curl -s %[1]s/health
  curl -s -X POST %[1]s/generate \
    -H 'x-client-key: %[4]s' -H 'content-type: application/json' \
    -d '{"prompt": "a red linen summer dress on a mannequin", "width": 768, "height": 1024}'

  playground:     %[1]s/
  demo shop:      %[1]s/demo/ (the try-on widget on a product page)

`, base, dbURL, live, test, admin)
	return serveLocal(ctx, a, l, e, newDemoShop(a, test).wrap)
}

// demoTenant creates the demo tenant and its keys (or, on a kept database,
// adds new keys to it: keys are shown only once).
func demoTenant(ctx context.Context, s *postgres.Store) (live, test, admin string, err error) {
	c, err := s.FindClientByName(ctx, "demo")
	if err != nil {
		if c, err = s.CreateClient(ctx, postgres.NewClient{Name: "demo"}); err != nil {
			return "", "", "", err
		}
	}
	id := c.ID
	if live, err = createKey(ctx, s, &id, tryon.KeyLive, "dev live", nil); err != nil {
		return
	}
	if test, err = createKey(ctx, s, &id, tryon.KeyTest, "dev test", nil); err != nil {
		return
	}
	admin, err = createKey(ctx, s, (*uuid.UUID)(nil), tryon.KeyAdmin, "dev admin", nil)
	return
}

func runServe(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := listenFlags(fs)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(e.lookup)
	if err != nil {
		return err
	}
	// The runtime reads GOMEMLIMIT from the process environment, so that
	// is where the operator's choice is looked for.
	config.ApplyMemoryLimit(os.LookupEnv)
	l, err := net.Listen("tcp", addr())
	if err != nil {
		return err
	}
	defer l.Close()
	a, err := app.New(cfg, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintf(e.stderr, "serving on %s\n", l.Addr())
	return serveLocal(ctx, a, l, e)
}

// listenFlags declares -addr and -port for dev and serve, and returns
// where to listen once they are parsed: -addr as given, else localhost on
// -port. Only loopback is the default: every interface (-addr :3000) is
// served only when asked for.
func listenFlags(fs *flag.FlagSet) func() string {
	addr := fs.String("addr", "", "address to listen on, e.g. 127.0.0.1:3000 or :3000 for every interface (default localhost:<port>)")
	port := fs.Int("port", 3000, "port to serve on, on localhost (ignored with -addr)")
	return func() string {
		if *addr != "" {
			return *addr
		}
		return "localhost:" + strconv.Itoa(*port)
	}
}

func runConfig(e env) error { return config.Usage(e.stdout) }

// loopback is where `tryon dev -webhook` may deliver.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// checkLocalReceiver accepts only an http(s) URL on this machine: the flag
// exists to reach a receiver the URL guard would refuse, and nothing else.
func checkLocalReceiver(raw string) error {
	u, err := url.Parse(raw)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		host := u.Hostname()
		if a, err := netip.ParseAddr(host); host == "localhost" || (err == nil && a.IsLoopback()) {
			return nil
		}
	}
	return usageError{fmt.Sprintf("-webhook must be a receiver on this machine, such as http://localhost:9000/hooks (got %q); set a public endpoint with tryon client webhook set", raw)}
}

// demoWebhook points the demo tenant's webhooks at receiver with a new secret.
func demoWebhook(ctx context.Context, s *postgres.Store, receiver string) (string, error) {
	c, err := s.FindClientByName(ctx, "demo")
	if err != nil {
		return "", err
	}
	secret, err := webhook.NewSecret()
	if err != nil {
		return "", err
	}
	_, err = s.ChangeClient(ctx, c.ID, postgres.ClientChange{Reason: "tryon dev -webhook", Webhook: &postgres.Webhook{URL: receiver, Secret: secret}})
	return secret, err
}
