// Package app wires Tryon together from its configuration: the database
// pool, the providers, storage, the runner and the HTTP server. It is the
// one package that knows it runs on Vercel: Serve builds the application
// once per function instance and hands each request to its route.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/blob"
	"github.com/tryonhq/tryon/pkg/config"
	"github.com/tryonhq/tryon/pkg/fake"
	"github.com/tryonhq/tryon/pkg/fal"
	"github.com/tryonhq/tryon/pkg/gemini"
	"github.com/tryonhq/tryon/pkg/generation"
	"github.com/tryonhq/tryon/pkg/httpapi"
	"github.com/tryonhq/tryon/pkg/inputimage"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/safefetch"
	"github.com/tryonhq/tryon/pkg/telemetry"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/vertex"
	"github.com/tryonhq/tryon/pkg/webhook"
)

// App is a wired application.
type App struct {
	Config *config.Config
	Store  *postgres.Store
	Runner *generation.Runner
	Server *httpapi.Server
	Log    *slog.Logger
	// Telemetry exports traces and metrics; nil when no OTLP endpoint is
	// configured.
	Telemetry *telemetry.Telemetry
	// Billing is statements, and with Stripe configured its meter and top-ups.
	Billing httpapi.Billing
}

// Options adjust the wiring for local runs and tests.
type Options struct {
	// Log receives the JSON logs; nil means standard error.
	Log *slog.Logger
	// AllowPrivate lets fetches and webhooks reach these addresses, which
	// the URL guard otherwise refuses: for tests whose fake servers listen
	// on loopback. Never set in production.
	AllowPrivate []netip.Prefix
	// PollInterval overrides how often long jobs are polled (default 5s).
	PollInterval time.Duration
	// WebhookAllow lets webhook deliveries (only) reach these addresses,
	// which the URL guard otherwise refuses: `tryon dev -webhook` delivers
	// to a receiver on loopback. Never set by `tryon serve` or on Vercel.
	WebhookAllow []netip.Prefix
	// MaxDurations override functions' maxDuration (by api/ file name), so
	// a test can give a function a short time limit; a deployment always
	// uses the route table's.
	MaxDurations map[string]time.Duration
}

// New wires an App from cfg. It opens no connection yet.
func New(cfg *config.Config, opts Options) (*App, error) {
	log := opts.Log
	if log == nil {
		log = NewLogger(os.Stderr, cfg.LogLevel)
	}
	tel, err := newTelemetry(cfg)
	if err != nil {
		return nil, err
	}
	log = tel.Logger(log)
	pool, err := postgres.OpenPool(cfg.DatabaseURL, postgres.PoolOptions{MaxConns: int32(cfg.DBMaxConns)})
	if err != nil {
		return nil, err
	}
	store := postgres.NewStore(pool)
	fetcher := safefetch.New(safefetch.Options{MaxBytes: cfg.InputMaxBytes, Timeout: cfg.InputFetchTimeout,
		MaxPixels: inputimage.MaxPixels, Allow: opts.AllowPrivate})
	storage, err := newStorage(cfg, store)
	if err != nil {
		return nil, err
	}
	providers, err := newProviders(cfg, fetcher, log, tel)
	if err != nil {
		return nil, err
	}
	storage, providers = traced(tel, cfg, storage, providers)
	poll := opts.PollInterval
	if poll == 0 {
		poll = 5 * time.Second
	}
	budget := func(fn string) time.Duration {
		if d, ok := opts.MaxDurations[fn]; ok {
			return d
		}
		rt, _ := httpapi.RouteByFunction(fn)
		return rt.Budget()
	}
	settings := generation.Settings{
		MaxDuration: budget("generate"), ReadMaxDuration: budget("generation"), SweepMaxDuration: budget("cron"),
		Margin: cfg.BudgetMargin, LongJobDeadline: cfg.LongJobDeadline, PollInterval: poll,
		WebhookLease: cfg.WebhookTimeout + 30*time.Second, DefaultPrice: cfg.DefaultPrice,
	}
	for _, d := range []time.Duration{settings.MaxDuration, settings.ReadMaxDuration, settings.SweepMaxDuration} {
		if cfg.BudgetMargin >= d/2 {
			return nil, fmt.Errorf("BUDGET_MARGIN must be less than half of every budget (the shortest, a function's maxDuration in the route table, is %s), got %s",
				min(settings.MaxDuration, settings.ReadMaxDuration, settings.SweepMaxDuration), cfg.BudgetMargin)
		}
	}
	hooks := fetcher
	if len(opts.WebhookAllow) > 0 {
		hooks = safefetch.New(safefetch.Options{MaxBytes: cfg.InputMaxBytes, Timeout: cfg.InputFetchTimeout,
			Allow: append(slices.Clone(opts.AllowPrivate), opts.WebhookAllow...)})
	}
	runner := &generation.Runner{
		Store: tel.Store(store), Providers: providers, Storage: storage, Log: log,
		// Every input image is checked and normalised once, here, for every provider.
		Fetcher: inputimage.Gate{Fetcher: fetcher},
		Notifier: &generation.Notifier{Store: store, Log: log, Lease: cfg.WebhookTimeout + 30*time.Second,
			Sender: &webhook.Sender{Client: hooks.HTTPClient(), Timeout: cfg.WebhookTimeout}},
		Settings: settings,
	}
	runner.Eraser, err = newEraser(cfg, store, runner.Notifier, log)
	if err != nil {
		return nil, err
	}
	bill := newBilling(cfg, store, log)
	return &App{Config: cfg, Store: store, Runner: runner, Log: log, Telemetry: tel, Billing: bill,
		Server: httpapi.NewServer(cfg, store, runner, log).WithBilling(bill)}, nil
}

// Close flushes telemetry and releases the database pool.
func (a *App) Close() {
	_ = a.Telemetry.Shutdown(context.Background())
	a.Store.Close()
}

func newStorage(cfg *config.Config, store *postgres.Store) (tryon.Storage, error) {
	if cfg.StorageKind() == config.StorageBlob {
		return blob.New(blob.Config{Token: cfg.BlobToken, APIURL: cfg.BlobAPIURL})
	}
	return postgres.Assets{Store: store}, nil
}

// newEraser deletes outputs from Postgres and, when a Blob store is
// connected, from Blob: whichever stores the outputs now, earlier outputs
// may be in either.
func newEraser(cfg *config.Config, store *postgres.Store, n *generation.Notifier, log *slog.Logger) (*generation.Eraser, error) {
	e := &generation.Eraser{Store: store, Notifier: n, Log: log, WebhookLease: cfg.WebhookTimeout + 30*time.Second}
	if cfg.BlobToken != "" {
		b, err := blob.New(blob.Config{Token: cfg.BlobToken, APIURL: cfg.BlobAPIURL})
		if err != nil {
			return nil, err
		}
		e.Blobs = b
	}
	return e, nil
}

func newProviders(cfg *config.Config, fetcher *safefetch.Client, log *slog.Logger, tel *telemetry.Telemetry) (generation.Providers, error) {
	fk := fake.New(fake.Options{Latency: cfg.FakeLatency, VideoLatency: cfg.FakeVideoLatency})
	p := generation.Providers{Live: map[tryon.Service]tryon.Provider{}, Test: fk}
	var gem *gemini.Provider
	var fl *fal.Provider
	for _, s := range tryon.Services {
		switch cfg.ProviderFor(s) {
		case "":
			// Not offered live on this deployment (fashn without a fal key).
		case config.ProviderFake:
			p.Live[s] = fk
		case config.ProviderVertex:
			p.Live[s] = vertex.New(vertex.Config{CredentialsJSON: []byte(cfg.VertexCredentialsJSON), Project: cfg.VertexProject,
				Location: cfg.VertexLocation, Model: cfg.VertexModelVTO, BaseURL: cfg.VertexBaseURL, Logger: log})
		case config.ProviderGemini:
			if gem == nil {
				gem = gemini.New(gemini.Config{APIKey: cfg.GeminiAPIKey, BaseURL: cfg.GeminiBaseURL,
					Models: map[tryon.Service]string{tryon.ServiceBanana: cfg.GeminiModelBanana,
						tryon.ServiceBananaPro: cfg.GeminiModelBananaPro, tryon.ServiceVeo3: cfg.GeminiModelVeo3},
					MaxVideoBytes: cfg.VideoMaxBytes, Logger: log, HTTPClient: providerClient(tel, 0)})
			}
			p.Live[s] = gem
		case config.ProviderFal:
			if fl == nil {
				fl = fal.New(fal.Config{Key: cfg.FalKey, BaseURL: cfg.FalBaseURL, Fetcher: fetcher, Logger: log,
					HTTPClient: providerClient(tel, 5*time.Minute),
					Endpoints: map[tryon.Service]string{tryon.ServiceBanana: cfg.FalEndpointBanana,
						tryon.ServiceBananaPro: cfg.FalEndpointBananaPro, tryon.ServiceFashn: cfg.FalEndpointFashn}})
			}
			p.Live[s] = fl
		default:
			return p, fmt.Errorf("PROVIDER for %s: unknown provider %q", s, cfg.ProviderFor(s))
		}
	}
	return p, nil
}

// NewLogger returns the JSON logger every process uses.
func NewLogger(w *os.File, level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
