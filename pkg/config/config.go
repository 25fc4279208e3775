// Package config is Tryon's configuration: one struct, loaded from the
// environment (or any lookup function, for tests) and checked as a whole, so
// a deployment with a missing or invalid setting fails at once with a message
// naming the variable.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// Provider names accepted by the PROVIDER_* settings.
const (
	ProviderGemini = "gemini"
	ProviderFal    = "fal"
	ProviderVertex = "vertex"
	ProviderFake   = "fake"
)

// Storage names accepted by STORAGE.
const (
	StorageAuto     = "auto"
	StoragePostgres = "postgres"
	StorageBlob     = "blob"
)

// Config is every setting of a Tryon deployment. The struct tags are
// envconfig's: the variable name, its default, whether it is required, and a
// description (printed by `tryon config` and kept in the README).
type Config struct {
	DatabaseURL string `envconfig:"DATABASE_URL" required:"true" desc:"Postgres URL; on Vercel, Neon's pooled (-pooler) URL"`
	DBMaxConns  int    `envconfig:"DB_MAX_CONNS" default:"4" desc:"connections per instance (keep small: every instance has its own pool)"`

	// A function's time budget is its maxDuration in the route table
	// (pkg/httpapi/routes.go), which vercel.json is generated from.
	BudgetMargin    time.Duration `envconfig:"BUDGET_MARGIN" default:"10s" desc:"kept back from a function's maxDuration (its budget) to store the result and answer"`
	LongJobDeadline time.Duration `envconfig:"LONG_JOB_DEADLINE" default:"20m" desc:"a video job still running after this is failed and released"`

	PublicBaseURL string        `envconfig:"PUBLIC_BASE_URL" desc:"absolute base of output URLs; default: the request's forwarded host"`
	CORSOrigins   []string      `envconfig:"CORS_ALLOWED_ORIGINS" desc:"comma-separated browser origins allowed to call the API, or *; default none"`
	KeyCacheTTL   time.Duration `envconfig:"KEY_CACHE_TTL" default:"30s" desc:"how long an instance trusts a looked-up key (at most 60s): the delay of a revocation"`
	CronSecret    string        `envconfig:"CRON_SECRET" desc:"bearer secret Vercel Cron sends to /api/cron; the sweep is refused without it"`
	LogLevel      string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	Version       string        `envconfig:"VERCEL_GIT_COMMIT_SHA" desc:"reported by /health (set by Vercel)"`

	PriceBanana    int64 `envconfig:"PRICE_BANANA_MICROS" default:"40000" desc:"default price of a banana image, micro-dollars"`
	PriceBananaPro int64 `envconfig:"PRICE_BANANA_PRO_MICROS" default:"150000" desc:"default price of a banana-pro image, micro-dollars"`
	PriceVeo3      int64 `envconfig:"PRICE_VEO3_MICROS" default:"1200000" desc:"default price of a veo3 video, micro-dollars"`
	PriceVTO       int64 `envconfig:"PRICE_VTO_MICROS" default:"100000" desc:"default price of a vto try-on, micro-dollars (Vertex bills each prediction: an outfit is one per garment)"`
	PriceFashn     int64 `envconfig:"PRICE_FASHN_MICROS" default:"100000" desc:"default price of a fashn try-on, micro-dollars (fal charges $0.075 per garment: an outfit is one call per garment)"`

	ProviderBanana    string `envconfig:"PROVIDER_BANANA" default:"gemini" desc:"gemini, fal or fake"`
	ProviderBananaPro string `envconfig:"PROVIDER_BANANA_PRO" default:"gemini" desc:"gemini, fal or fake"`
	ProviderVeo3      string `envconfig:"PROVIDER_VEO3" default:"gemini" desc:"gemini or fake"`
	ProviderVTO       string `envconfig:"PROVIDER_VTO" desc:"vertex or fake; default vertex when VERTEX_CREDENTIALS_JSON is set, else live vto requests are refused (test keys always work)"`
	ProviderFashn     string `envconfig:"PROVIDER_FASHN" desc:"fal or fake; default fal when FAL_KEY is set, else live fashn requests are refused (test keys always work)"`

	GeminiAPIKey         string `envconfig:"GEMINI_API_KEY" desc:"Gemini API key (required when a service uses gemini)"`
	GeminiBaseURL        string `envconfig:"GEMINI_BASE_URL" default:"https://generativelanguage.googleapis.com" desc:"Gemini API base URL"`
	GeminiModelBanana    string `envconfig:"GEMINI_MODEL_BANANA" default:"gemini-2.5-flash-image" desc:"model for banana"`
	GeminiModelBananaPro string `envconfig:"GEMINI_MODEL_BANANA_PRO" default:"gemini-3-pro-image-preview" desc:"model for banana-pro"`
	GeminiModelVeo3      string `envconfig:"GEMINI_MODEL_VEO3" default:"veo-3.0-fast-generate-001" desc:"model for veo3"`

	FalKey               string `envconfig:"FAL_KEY" desc:"fal.ai key (required when a service uses fal)"`
	FalBaseURL           string `envconfig:"FAL_BASE_URL" default:"https://fal.run" desc:"fal synchronous endpoint base URL"`
	FalEndpointBanana    string `envconfig:"FAL_ENDPOINT_BANANA" default:"fal-ai/nano-banana/edit" desc:"fal endpoint for banana"`
	FalEndpointBananaPro string `envconfig:"FAL_ENDPOINT_BANANA_PRO" default:"fal-ai/nano-banana-pro/edit" desc:"fal endpoint for banana-pro"`
	FalEndpointFashn     string `envconfig:"FAL_ENDPOINT_FASHN" default:"fal-ai/fashn/tryon/v1.6" desc:"fal endpoint for fashn"`

	VertexCredentialsJSON string `envconfig:"VERTEX_CREDENTIALS_JSON" desc:"service account key file (JSON) for Vertex AI Virtual Try-On"`
	VertexProject         string `envconfig:"VERTEX_PROJECT" desc:"Google Cloud project; default: the key file's project_id"`
	VertexLocation        string `envconfig:"VERTEX_LOCATION" default:"us-central1" desc:"Vertex AI region"`
	VertexModelVTO        string `envconfig:"VERTEX_MODEL_VTO" default:"virtual-try-on-001" desc:"Vertex model for vto"`
	VertexBaseURL         string `envconfig:"VERTEX_BASE_URL" desc:"Vertex AI API base URL; default https://{VERTEX_LOCATION}-aiplatform.googleapis.com"`

	FakeLatency      time.Duration `envconfig:"FAKE_LATENCY" default:"0s" desc:"latency of the fake provider's images"`
	FakeVideoLatency time.Duration `envconfig:"FAKE_VIDEO_LATENCY" default:"15s" desc:"how long the fake provider's videos take"`

	Storage       string `envconfig:"STORAGE" default:"auto" desc:"postgres, blob, or auto (blob when BLOB_READ_WRITE_TOKEN is set)"`
	BlobToken     string `envconfig:"BLOB_READ_WRITE_TOKEN" desc:"Vercel Blob token (set by Vercel when a Blob store is connected)"`
	BlobAPIURL    string `envconfig:"VERCEL_BLOB_API_URL" default:"https://vercel.com/api/blob" desc:"Vercel Blob API URL"`
	InputMaxBytes int64  `envconfig:"INPUT_MAX_BYTES" default:"10485760" desc:"largest input image fetched from a URL"`
	VideoMaxBytes int64  `envconfig:"VIDEO_MAX_BYTES" default:"104857600" desc:"largest video copied from a provider"`

	InputFetchTimeout time.Duration `envconfig:"INPUT_FETCH_TIMEOUT" default:"15s" desc:"time allowed to fetch one input image"`
	WebhookTimeout    time.Duration `envconfig:"WEBHOOK_TIMEOUT" default:"5s" desc:"time allowed for one webhook delivery by the sweep (the request that finishes a generation allows at most 2s)"`

	StripeSecretKey      string `envconfig:"STRIPE_SECRET_KEY" desc:"Stripe secret key; when set, linked tenants' usage goes to Stripe Billing meters"`
	StripeWebhookSecret  string `envconfig:"STRIPE_WEBHOOK_SECRET" desc:"signing secret (whsec_...) of the Stripe webhook endpoint /stripe/webhook; with STRIPE_SECRET_KEY, turns top-ups on"`
	StripeMeterEventName string `envconfig:"STRIPE_METER_EVENT_NAME" default:"tryon_usage_micros" desc:"event_name of the Stripe meter that sums usage in micro-dollars"`
	StripeAPIURL         string `envconfig:"STRIPE_API_URL" default:"https://api.stripe.com" desc:"Stripe API base URL"`
	StripeTopupMin       int64  `envconfig:"STRIPE_TOPUP_MIN_MICROS" default:"5000000" desc:"smallest top-up through Checkout, micro-dollars (whole cents, at least 500000)"`
	StripeTopupMax       int64  `envconfig:"STRIPE_TOPUP_MAX_MICROS" default:"10000000000" desc:"largest top-up through Checkout, micro-dollars (whole cents)"`
}

// StripeEnabled reports whether Stripe billing is on.
func (c *Config) StripeEnabled() bool { return c.StripeSecretKey != "" }

// ProviderFor returns the provider configured for a service.
func (c *Config) ProviderFor(s tryon.Service) string {
	switch s {
	case tryon.ServiceBananaPro:
		return c.ProviderBananaPro
	case tryon.ServiceVeo3:
		return c.ProviderVeo3
	case tryon.ServiceFashn:
		return c.fashnProvider()
	case tryon.ServiceVTO:
		if c.ProviderVTO == "" && c.VertexCredentialsJSON != "" {
			return ProviderVertex
		}
		return c.ProviderVTO
	}
	return c.ProviderBanana
}

// DefaultPrice returns the configured price of a service.
func (c *Config) DefaultPrice(s tryon.Service) tryon.Micros {
	switch s {
	case tryon.ServiceBananaPro:
		return tryon.Micros(c.PriceBananaPro)
	case tryon.ServiceVeo3:
		return tryon.Micros(c.PriceVeo3)
	case tryon.ServiceFashn:
		return tryon.Micros(c.PriceFashn)
	case tryon.ServiceVTO:
		return tryon.Micros(c.PriceVTO)
	}
	return tryon.Micros(c.PriceBanana)
}

// StorageKind resolves STORAGE=auto.
func (c *Config) StorageKind() string {
	if c.Storage == StorageAuto {
		if c.BlobToken != "" {
			return StorageBlob
		}
		return StoragePostgres
	}
	return c.Storage
}

// Validate checks the settings together and names every variable at fault.
func (c *Config) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s %s", name, fmt.Sprintf(format, args...)))
	}
	if c.DBMaxConns < 1 || c.DBMaxConns > 100 {
		bad("DB_MAX_CONNS", "must be between 1 and 100, got %d", c.DBMaxConns)
	}
	// The margin's upper bound depends on the route table, which the app
	// checks when it wires the budgets.
	if c.BudgetMargin < 0 {
		bad("BUDGET_MARGIN", "must not be negative, got %s", c.BudgetMargin)
	}
	if c.LongJobDeadline < time.Minute {
		bad("LONG_JOB_DEADLINE", "must be at least 1m, got %s", c.LongJobDeadline)
	}
	if c.KeyCacheTTL <= 0 || c.KeyCacheTTL > time.Minute {
		bad("KEY_CACHE_TTL", "must be more than 0 and at most 60s (revocations must take effect within a minute), got %s", c.KeyCacheTTL)
	}
	if c.PublicBaseURL != "" {
		if u, err := url.Parse(c.PublicBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("PUBLIC_BASE_URL", "must be an absolute http(s) URL, got %q", c.PublicBaseURL)
		}
	}
	for _, o := range c.CORSOrigins {
		if o == "*" {
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad("CORS_ALLOWED_ORIGINS", "must list origins such as https://shop.example, got %q", o)
		}
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	for name, p := range map[string]int64{"PRICE_BANANA_MICROS": c.PriceBanana, "PRICE_BANANA_PRO_MICROS": c.PriceBananaPro, "PRICE_VEO3_MICROS": c.PriceVeo3} {
		if p < 0 {
			bad(name, "must not be negative, got %d", p)
		}
	}
	usesGemini, usesFal := false, false
	for name, p := range map[string]string{"PROVIDER_BANANA": c.ProviderBanana, "PROVIDER_BANANA_PRO": c.ProviderBananaPro, "PROVIDER_VEO3": c.ProviderVeo3} {
		switch p {
		case ProviderGemini:
			usesGemini = true
		case ProviderFal:
			usesFal = true
			if name == "PROVIDER_VEO3" {
				bad(name, "must be gemini or fake (fal serves images only here)")
			}
		case ProviderFake:
		default:
			bad(name, "must be gemini, fal or fake, got %q", p)
		}
	}
	switch c.ProviderFashn {
	case "", ProviderFake:
	case ProviderFal:
		usesFal = true
	default:
		bad("PROVIDER_FASHN", "must be fal or fake, got %q", c.ProviderFashn)
	}
	switch c.ProviderVTO {
	case "", ProviderFake:
	case ProviderVertex:
		if c.VertexCredentialsJSON == "" {
			bad("VERTEX_CREDENTIALS_JSON", "is required when PROVIDER_VTO is vertex")
		}
	default:
		bad("PROVIDER_VTO", "must be vertex or fake, got %q", c.ProviderVTO)
	}
	if c.PriceVTO < 0 {
		bad("PRICE_VTO_MICROS", "must not be negative, got %d", c.PriceVTO)
	}
	if c.PriceFashn < 0 {
		bad("PRICE_FASHN_MICROS", "must not be negative, got %d", c.PriceFashn)
	}
	if usesGemini && c.GeminiAPIKey == "" {
		bad("GEMINI_API_KEY", "is required when a PROVIDER_* setting is gemini (or set PROVIDER_*=fake for local runs)")
	}
	if usesFal && c.FalKey == "" {
		bad("FAL_KEY", "is required when a PROVIDER_* setting is fal")
	}
	switch c.Storage {
	case StorageAuto, StoragePostgres:
	case StorageBlob:
		if c.BlobToken == "" {
			bad("BLOB_READ_WRITE_TOKEN", "is required when STORAGE=blob")
		}
	default:
		bad("STORAGE", "must be postgres, blob or auto, got %q", c.Storage)
	}
	if c.InputMaxBytes < 1024 || c.InputMaxBytes > 4<<20*10 {
		bad("INPUT_MAX_BYTES", "must be between 1 KiB and 40 MiB, got %d", c.InputMaxBytes)
	}
	if c.VideoMaxBytes < 1<<20 {
		bad("VIDEO_MAX_BYTES", "must be at least 1 MiB, got %d", c.VideoMaxBytes)
	}
	if c.InputFetchTimeout <= 0 {
		bad("INPUT_FETCH_TIMEOUT", "must be positive")
	}
	if c.WebhookTimeout <= 0 || c.WebhookTimeout > time.Minute {
		bad("WEBHOOK_TIMEOUT", "must be more than 0 and at most 1m")
	}
	if c.StripeEnabled() && strings.TrimSpace(c.StripeMeterEventName) == "" {
		bad("STRIPE_METER_EVENT_NAME", "must name the Stripe meter when STRIPE_SECRET_KEY is set")
	}
	if u, err := url.Parse(c.StripeAPIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("STRIPE_API_URL", "must be an absolute http(s) URL, got %q", c.StripeAPIURL)
	}
	if c.StripeTopupMin < 500_000 || c.StripeTopupMin%10_000 != 0 {
		bad("STRIPE_TOPUP_MIN_MICROS", "must be whole cents (a multiple of 10000) and at least 500000 (Stripe's minimum charge), got %d", c.StripeTopupMin)
	}
	if c.StripeTopupMax < c.StripeTopupMin || c.StripeTopupMax%10_000 != 0 {
		bad("STRIPE_TOPUP_MAX_MICROS", "must be whole cents and at least STRIPE_TOPUP_MIN_MICROS, got %d", c.StripeTopupMax)
	}
	return errors.Join(errs...)
}

// fashnProvider is PROVIDER_FASHN, or by default fal when a fal key is
// configured and none ("") otherwise: FASHN is served only through fal, so
// a deployment without a fal key has no live fashn service.
func (c *Config) fashnProvider() string {
	if c.ProviderFashn != "" {
		return c.ProviderFashn
	}
	if c.FalKey != "" {
		return ProviderFal
	}
	return ""
}
