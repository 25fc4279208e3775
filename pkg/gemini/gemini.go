// Package gemini calls Google's Gemini API: Nano Banana image models through
// generateContent and Veo through predictLongRunning.
//
// Every failure comes back as a *tryon.ProviderError classified by kind, so
// callers never see Google's wire format. The API key travels only in the
// x-goog-api-key header, never in a URL, a log line or an error.
package gemini

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/retry"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Name is the provider name recorded on generations.
const Name = "gemini"

// DefaultBaseURL is the public Gemini API endpoint.
const DefaultBaseURL = "https://generativelanguage.googleapis.com"

// defaultModels are the models used when Config.Models does not name one for
// a service.
var defaultModels = map[tryon.Service]string{
	tryon.ServiceBanana:    "gemini-2.5-flash-image",
	tryon.ServiceBananaPro: "gemini-3-pro-image-preview",
	tryon.ServiceVeo3:      "veo-3.0-fast-generate-001",
}

// DefaultModel returns the model used for s when Config.Models does not name
// one: gemini-2.5-flash-image for banana, gemini-3-pro-image-preview for
// banana-pro and veo-3.0-fast-generate-001 for veo3.
func DefaultModel(s tryon.Service) string { return defaultModels[s] }

// DefaultMaxVideoBytes caps a downloaded video when Config.MaxVideoBytes is 0.
const DefaultMaxVideoBytes = 100 << 20

// DefaultPollInterval is how often Generate polls a video operation when
// Config.PollInterval is 0. Veo takes from 11 s to minutes, so polling faster
// only spends requests.
const DefaultPollInterval = 3 * time.Second

// Config configures a Provider. Only APIKey is required.
type Config struct {
	APIKey string
	// BaseURL is the API root, DefaultBaseURL when empty; tests point it at
	// a geminifake.Server.
	BaseURL string
	// Models overrides DefaultModel per service.
	Models map[tryon.Service]string
	// HTTPClient is used for every call; a plain client when nil. The
	// provider works on a copy, so the caller's redirect policy is kept but
	// never changed.
	HTTPClient *http.Client
	// MaxVideoBytes caps a video download; DefaultMaxVideoBytes when 0.
	MaxVideoBytes int64
	// PollInterval is how often the synchronous video path polls;
	// DefaultPollInterval when 0.
	PollInterval time.Duration
	// Logger receives retries and, at error level, configuration problems;
	// slog.Default() when nil.
	Logger *slog.Logger
}

// Provider calls the Gemini API. It implements tryon.Provider and
// tryon.Operator and is safe for concurrent use.
type Provider struct {
	key          string
	base         *url.URL
	baseURL      string
	models       map[tryon.Service]string
	client       *http.Client
	maxVideo     int64
	pollInterval time.Duration
	log          *slog.Logger
	retry        retry.Policy
}

var (
	_ tryon.Provider = (*Provider)(nil)
	_ tryon.Operator = (*Provider)(nil)
)

// New returns a Provider for cfg, filling in defaults.
func New(cfg Config) *Provider {
	p := &Provider{
		key:          cfg.APIKey,
		baseURL:      strings.TrimRight(cfg.BaseURL, "/"),
		models:       make(map[tryon.Service]string, len(defaultModels)),
		maxVideo:     cfg.MaxVideoBytes,
		pollInterval: cfg.PollInterval,
		log:          cfg.Logger,
		retry:        defaultRetryPolicy,
	}
	if p.baseURL == "" {
		p.baseURL = DefaultBaseURL
	}
	// A malformed BaseURL leaves base nil; requests then fail as a
	// configuration problem rather than panicking here.
	p.base, _ = url.Parse(p.baseURL)
	for s, m := range defaultModels {
		p.models[s] = m
	}
	for s, m := range cfg.Models {
		if m != "" {
			p.models[s] = m
		}
	}
	if p.maxVideo <= 0 {
		p.maxVideo = DefaultMaxVideoBytes
	}
	if p.pollInterval <= 0 {
		p.pollInterval = DefaultPollInterval
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.client = p.guardedClient(cfg.HTTPClient)
	return p
}

// Name returns "gemini".
func (p *Provider) Name() string { return Name }

// Model returns the model configured for s, or "" for a service this
// provider does not serve.
func (p *Provider) Model(s tryon.Service) string { return p.models[s] }

// Generate makes an image (banana, banana-pro) with one generateContent call,
// retried within ctx's deadline when the failure is transient, or a video
// (veo3) by starting an operation and polling it until it is done or ctx
// expires.
func (p *Provider) Generate(ctx context.Context, req tryon.ProviderRequest) (*tryon.Result, error) {
	switch req.Service {
	case tryon.ServiceBanana, tryon.ServiceBananaPro:
		return p.generateImages(ctx, req)
	case tryon.ServiceVeo3:
		return p.generateVideo(ctx, req)
	}
	return nil, p.configProblem(&tryon.ProviderError{
		Provider: Name,
		Kind:     tryon.FailInvalidRequest,
		Message:  "the service is not supported by this provider",
		Detail:   "service " + string(req.Service),
	}, "")
}
