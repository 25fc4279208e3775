package tryon

import (
	"time"

	"github.com/google/uuid"
)

// Service is what a tenant asks for: an image or video model family.
type Service string

// The services of POST /generate.
const (
	ServiceBanana    Service = "banana"
	ServiceBananaPro Service = "banana-pro"
	ServiceVeo3      Service = "veo3"
	// ServiceFashn is FASHN's dedicated try-on model (v1.6), served by fal:
	// task tryon only.
	ServiceFashn Service = "fashn"
	// ServiceVTO is Google's Virtual Try-On on Vertex AI: task tryon only.
	ServiceVTO Service = "vto"
)

// Services lists every service in a stable order.
var Services = []Service{ServiceBanana, ServiceBananaPro, ServiceVeo3, ServiceFashn, ServiceVTO}

// Valid reports whether s is a known service.
func (s Service) Valid() bool {
	for _, v := range Services {
		if s == v {
			return true
		}
	}
	return false
}

// IsVideo reports whether the service produces video, which is long-running.
func (s Service) IsVideo() bool { return s == ServiceVeo3 }

// TryonOnly reports whether the service is a dedicated try-on model, which
// takes a person and garments and no prompt of its own.
func (s Service) TryonOnly() bool { return s == ServiceFashn || s == ServiceVTO }

// Status is the lifecycle state of a generation.
type Status string

// Generation states. A generation starts processing and ends exactly once in
// succeeded, failed or canceled.
const (
	StatusProcessing Status = "processing"
	StatusSucceeded  Status = "succeeded"
	StatusFailed     Status = "failed"
	// StatusCanceled is a generation its tenant canceled while it was
	// processing (POST /generate/:id/cancel): never billed.
	StatusCanceled Status = "canceled"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	return s == StatusProcessing || s == StatusSucceeded || s == StatusFailed || s == StatusCanceled
}

// Mode says whether a generation is real and billed (live) or made by the fake
// provider for free (test). It follows the kind of the key that asked.
type Mode string

// The two modes.
const (
	ModeLive Mode = "live"
	ModeTest Mode = "test"
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == ModeLive || m == ModeTest }

// Output describes a stored generation result.
type Output struct {
	// URL is where the bytes are served: absolute for external storage, or a
	// path such as /assets/{token} that the HTTP layer makes absolute.
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	Bytes       int64  `json:"bytes"`
}

// GenerationError is why a generation failed.
type GenerationError struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// Generation is one request to generate an image or a video, from admission to
// its final state.
type Generation struct {
	ID             uuid.UUID
	ClientID       uuid.UUID
	KeyID          uuid.UUID
	Status         Status
	Mode           Mode
	Service        Service
	Provider       string
	Model          string
	Prompt         string
	Width          int
	Height         int
	DurationSecs   int // video only; 0 otherwise
	Output         *Output
	Outputs        []Output // every stored output, Output first; empty until success
	NumOutputs     int      // how many outputs were asked for (1 to 4)
	Error          *GenerationError
	PriceMicros    Micros // reserved while processing (price per output × NumOutputs); what a full success costs
	CostMicros     Micros // what the tenant is billed: per output × outputs returned on live success, else 0
	LatencyMS      *int64
	Metadata       map[string]string
	IdempotencyKey *string
	// Params are the try-on and output parameters asked for; nil when none.
	Params *Params
	// Operation is the provider's long-running operation name (video), stored
	// so that later requests can poll it.
	Operation string
	// RetryAfter is a provider's hint on a failed generation, for Retry-After.
	RetryAfter time.Duration
	CreatedAt  time.Time
	// Deadline is when a processing generation is given up: the request's hard
	// time limit for synchronous providers, the job's deadline for long ones.
	Deadline    time.Time
	CompletedAt *time.Time
	// Retention (retention.go): when the outputs go, and when they went.
	Retention
}

// Expired reports whether a processing generation is past its deadline, so
// whoever reads it next must finalise it as failed.
func (g *Generation) Expired(now time.Time) bool {
	return g.Status == StatusProcessing && !now.Before(g.Deadline)
}
