package fal

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/retry"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// DefaultBaseURL is fal's synchronous endpoint host: requests sent here run
// straight on a runner and answer with the output, unlike queue.fal.run.
const DefaultBaseURL = "https://fal.run"

// DefaultMaxOutputBytes bounds one output image. A 4K PNG from Nano Banana Pro
// stays well under it; anything larger is not an image we asked for.
const DefaultMaxOutputBytes int64 = 32 << 20

// defaultEndpoints are the edit endpoints per service. A request without input
// images goes to the same path without the trailing "/edit", which is the
// model's text-to-image endpoint.
var defaultEndpoints = map[tryon.Service]string{
	tryon.ServiceBanana:    "fal-ai/nano-banana/edit",
	tryon.ServiceBananaPro: "fal-ai/nano-banana-pro/edit",
	tryon.ServiceFashn:     DefaultFashnEndpoint,
}

// Config configures a Provider. Only Key and Fetcher have no usable default.
type Config struct {
	// Key is the fal API key ("key_id:key_secret"), sent as "Authorization: Key <Key>".
	Key string
	// BaseURL is the fal.run host; tests point it at falfake. Default DefaultBaseURL.
	BaseURL string
	// Endpoints maps each service to its edit endpoint id. Services left out
	// keep the defaults: banana → "fal-ai/nano-banana/edit", banana-pro →
	// "fal-ai/nano-banana-pro/edit". Requests without input images go to the id
	// minus its trailing "/edit" (the text-to-image endpoint); an id without
	// "/edit" serves both kinds of request.
	Endpoints map[tryon.Service]string
	// HTTPClient sends the calls to fal. Default: a client whose timeout is only
	// a backstop, since the ctx deadline governs each call.
	HTTPClient *http.Client
	// Fetcher downloads the output URL fal answers with, through the same SSRF
	// guard as tenant inputs (fal's URLs are public, but the answer is still
	// untrusted input). It must accept data: URLs too. Required.
	Fetcher tryon.Fetcher
	// MaxOutputBytes bounds the output image and, scaled for base64, the JSON
	// answer that may carry it inline. Default DefaultMaxOutputBytes.
	MaxOutputBytes int64
	// Logger receives configuration problems (bad key, exhausted balance,
	// rejected requests) loudly, and retries quietly. Default slog.Default().
	Logger *slog.Logger
}

// Provider generates images with Nano Banana models on fal.ai. It is safe for
// concurrent use.
type Provider struct {
	key       string
	baseURL   string
	endpoints map[tryon.Service]string
	client    *http.Client
	fetcher   tryon.Fetcher
	maxOutput int64
	log       *slog.Logger
	retry     retry.Policy
}

var _ tryon.Provider = (*Provider)(nil)

// New returns a Provider for cfg. It panics without a Fetcher, because every
// answer must be downloaded and a provider that cannot do so is a wiring bug.
func New(cfg Config) *Provider {
	if cfg.Fetcher == nil {
		panic("fal.New: Config.Fetcher is required")
	}
	p := &Provider{
		key:       cfg.Key,
		baseURL:   strings.TrimRight(cfg.BaseURL, "/"),
		endpoints: make(map[tryon.Service]string, len(defaultEndpoints)),
		client:    cfg.HTTPClient,
		fetcher:   cfg.Fetcher,
		maxOutput: cfg.MaxOutputBytes,
		log:       cfg.Logger,
		retry:     defaultRetryPolicy,
	}
	if p.baseURL == "" {
		p.baseURL = DefaultBaseURL
	}
	for s, ep := range defaultEndpoints {
		p.endpoints[s] = ep
	}
	for s, ep := range cfg.Endpoints {
		if ep = strings.Trim(ep, "/"); ep != "" {
			p.endpoints[s] = ep
		}
	}
	if p.client == nil {
		p.client = &http.Client{Timeout: 5 * time.Minute}
	}
	if p.maxOutput <= 0 {
		p.maxOutput = DefaultMaxOutputBytes
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.log = p.log.With("provider", providerName)
	return p
}

const providerName = "fal"

// Name returns "fal", the provider name recorded on generations.
func (p *Provider) Name() string { return providerName }

// Model returns the configured endpoint id for s (the edit endpoint), or ""
// for a service fal does not serve here.
func (p *Provider) Model(s tryon.Service) string { return p.endpoints[s] }

// Generate asks fal for one image and downloads it. Rate limits and server
// errors are retried with backoff while ctx's deadline leaves room for another
// attempt; every failure is a *tryon.ProviderError, except a cancelled ctx,
// which is returned as is because nobody is waiting for a classification.
func (p *Provider) Generate(ctx context.Context, req tryon.ProviderRequest) (*tryon.Result, error) {
	if req.Service == tryon.ServiceFashn {
		return p.generateFashn(ctx, req)
	}
	endpoint, body, perr := p.buildCall(req)
	if perr != nil {
		return nil, p.report(perr, endpoint)
	}
	if p.key == "" {
		return nil, p.report(errNoKey(), endpoint)
	}

	answer, err := p.callWithRetry(ctx, endpoint, body)
	if err != nil {
		return nil, p.reportErr(err, endpoint)
	}
	res, err := p.downloadAll(ctx, answer, req.Outputs())
	if err != nil {
		return nil, p.reportErr(err, endpoint)
	}
	return res, nil
}

// reportErr logs err if it is a configuration problem and returns it unchanged.
func (p *Provider) reportErr(err error, endpoint string) error {
	if perr, ok := err.(*tryon.ProviderError); ok {
		return p.report(perr, endpoint)
	}
	return err
}

// errNoKey is the failure of a call attempted without a fal API key.
func errNoKey() *tryon.ProviderError {
	return &tryon.ProviderError{
		Provider: providerName, Kind: tryon.FailAuth,
		Message: msgAuth, Detail: "no fal API key is configured",
	}
}

// report logs configuration problems at error level, since no tenant can fix
// a wrong key or an exhausted balance and operators must hear of it at once.
// It never logs the key: only the status and fal's own message.
func (p *Provider) report(perr *tryon.ProviderError, endpoint string) *tryon.ProviderError {
	if perr.ConfigurationProblem() {
		p.log.Error("fal provider configuration problem",
			"kind", string(perr.Kind), "endpoint", endpoint,
			"status", perr.Status, "detail", perr.Detail)
	}
	return perr
}
