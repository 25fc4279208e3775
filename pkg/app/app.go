// Package app wires Tryon together from its configuration: the database
// pool, the providers, storage, the runner and the HTTP server. It is the
// one package that knows it runs on Vercel: Serve builds the application
// once per function instance and hands each request to its route.
package app

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/blob"
	"github.com/tryonhq/tryon/pkg/config"
	"github.com/tryonhq/tryon/pkg/fake"
	"github.com/tryonhq/tryon/pkg/fal"
	"github.com/tryonhq/tryon/pkg/gemini"
	"github.com/tryonhq/tryon/pkg/generation"
	"github.com/tryonhq/tryon/pkg/httpapi"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/safefetch"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/webhook"
)

// App is a wired application.
type App struct {
	Config *config.Config
	Store  *postgres.Store
	Runner *generation.Runner
	Server *httpapi.Server
	Log    *slog.Logger
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
}

// New wires an App from cfg. It opens no connection yet.
func New(cfg *config.Config, opts Options) (*App, error) {
	log := opts.Log
	if log == nil {
		log = NewLogger(os.Stderr, cfg.LogLevel)
	}
	pool, err := postgres.OpenPool(cfg.DatabaseURL, postgres.PoolOptions{MaxConns: int32(cfg.DBMaxConns)})
	if err != nil {
		return nil, err
	}
	store := postgres.NewStore(pool)
	fetcher := safefetch.New(safefetch.Options{MaxBytes: cfg.InputMaxBytes, Timeout: cfg.InputFetchTimeout, Allow: opts.AllowPrivate})
	storage, err := newStorage(cfg, store)
	if err != nil {
		return nil, err
	}
	providers, err := newProviders(cfg, fetcher, log)
	if err != nil {
		return nil, err
	}
	poll := opts.PollInterval
	if poll == 0 {
		poll = 5 * time.Second
	}
	readMax := func(fn string) time.Duration {
		rt, _ := httpapi.RouteByFunction(fn)
		return time.Duration(rt.MaxDuration) * time.Second
	}
	runner := &generation.Runner{
		Store: store, Providers: providers, Storage: storage, Fetcher: fetcher, Log: log,
		Notifier: &generation.Notifier{Store: store, Log: log, Lease: cfg.WebhookTimeout + 30*time.Second,
			Sender: &webhook.Sender{Client: fetcher.HTTPClient(), Timeout: cfg.WebhookTimeout}},
		Settings: generation.Settings{
			MaxDuration: cfg.FunctionMaxDuration, ReadMaxDuration: readMax("generation"), SweepMaxDuration: readMax("cron"),
			Margin: cfg.BudgetMargin, LongJobDeadline: cfg.LongJobDeadline, PollInterval: poll,
			WebhookLease: cfg.WebhookTimeout + 30*time.Second, DefaultPrice: cfg.DefaultPrice,
		},
	}
	bill := newBilling(cfg, store, log)
	return &App{Config: cfg, Store: store, Runner: runner, Log: log, Billing: bill,
		Server: httpapi.NewServer(cfg, store, runner, log).WithBilling(bill)}, nil
}

// Close releases the database pool.
func (a *App) Close() { a.Store.Close() }

func newStorage(cfg *config.Config, store *postgres.Store) (tryon.Storage, error) {
	if cfg.StorageKind() == config.StorageBlob {
		return blob.New(blob.Config{Token: cfg.BlobToken, APIURL: cfg.BlobAPIURL})
	}
	return postgres.Assets{Store: store}, nil
}

func newProviders(cfg *config.Config, fetcher *safefetch.Client, log *slog.Logger) (generation.Providers, error) {
	fk := fake.New(fake.Options{Latency: cfg.FakeLatency, VideoLatency: cfg.FakeVideoLatency})
	p := generation.Providers{Live: map[tryon.Service]tryon.Provider{}, Test: fk}
	var gem *gemini.Provider
	var fl *fal.Provider
	for _, s := range tryon.Services {
		switch cfg.ProviderFor(s) {
		case config.ProviderFake:
			p.Live[s] = fk
		case config.ProviderGemini:
			if gem == nil {
				gem = gemini.New(gemini.Config{APIKey: cfg.GeminiAPIKey, BaseURL: cfg.GeminiBaseURL,
					Models: map[tryon.Service]string{tryon.ServiceBanana: cfg.GeminiModelBanana,
						tryon.ServiceBananaPro: cfg.GeminiModelBananaPro, tryon.ServiceVeo3: cfg.GeminiModelVeo3},
					MaxVideoBytes: cfg.VideoMaxBytes, Logger: log})
			}
			p.Live[s] = gem
		case config.ProviderFal:
			if fl == nil {
				fl = fal.New(fal.Config{Key: cfg.FalKey, BaseURL: cfg.FalBaseURL, Fetcher: fetcher, Logger: log,
					Endpoints: map[tryon.Service]string{tryon.ServiceBanana: cfg.FalEndpointBanana,
						tryon.ServiceBananaPro: cfg.FalEndpointBananaPro}})
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
