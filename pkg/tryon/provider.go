package tryon

import (
	"context"
	"fmt"
	"time"
)

// Image is an input image, already fetched and checked to be PNG, JPEG or WebP.
type Image struct {
	Bytes       []byte
	ContentType string // image/png, image/jpeg or image/webp
	Width       int
	Height      int
}

// ProviderRequest is what a provider is asked to make.
type ProviderRequest struct {
	Service Service
	Prompt  string
	// Width and Height are what the tenant asked for; providers snap them to
	// what the model supports and report the real size in the Result.
	Width, Height int
	// Person and Garment are the try-on inputs of a generate task; both nil
	// or both set.
	Person, Garment *Image
	// Garments is the outfit of a try-on task (Person is then set, Garment
	// nil, and Prompt is the tenant's optional extra instruction). Providers
	// write the try-on instructions themselves (package tryonprompt).
	Garments []Garment
	// Seed is sent to models that take one; nil lets the model choose.
	Seed *int64
	// OutputFormat and OutputQuality are passed to providers that encode
	// the output themselves; the runner converts to PNG or JPEG otherwise.
	OutputFormat    OutputFormat
	OutputQuality   int
	NumOutputs      int // images to make, 1 to 4 (0 means 1): see Result; video makes one
	DurationSeconds int // video only
}

// Outputs is how many outputs the request asks for: NumOutputs, at least 1.
func (r ProviderRequest) Outputs() int { return max(r.NumOutputs, 1) }

// Result is a provider's output bytes. A request for several outputs gets
// the first here and the others in More: models that take a count are asked
// for it, the others are called that many times. A provider that made fewer
// than asked (some filtered or failed) returns what it made: a partial
// success, billed only for what came back. None at all is an error.
type Result struct {
	Bytes       []byte
	ContentType string
	Width       int
	Height      int
	More        []*Result
}

// All lists the result and the outputs after it, in order.
func (r *Result) All() []*Result {
	return append([]*Result{r}, r.More...)
}

// Results joins several outputs into one Result (the first, with the others
// in More); nil when there are none.
func Results(outs []*Result) *Result {
	if len(outs) == 0 {
		return nil
	}
	first := *outs[0]
	first.More = append([]*Result(nil), outs[1:]...)
	return &first
}

// Provider turns a request into output. Image providers finish within one
// call to Generate; long-running providers (video) also implement Operator.
type Provider interface {
	// Name is the provider's name as recorded on generations ("gemini", "fal", "fake").
	Name() string
	// Model returns the model the provider uses for a service.
	Model(s Service) string
	// Generate makes the output synchronously, within ctx's deadline.
	Generate(ctx context.Context, req ProviderRequest) (*Result, error)
}

// Operator is a provider whose work outlives a request: Start submits it and
// returns an operation name, Poll asks once whether it is done (a nil Result
// and nil error mean "still running").
type Operator interface {
	Start(ctx context.Context, req ProviderRequest) (operation string, err error)
	Poll(ctx context.Context, operation string) (*Result, error)
}

// FailureKind classifies every provider failure, whatever the provider.
type FailureKind string

// The provider failure classification (docs/DESIGN.md, "Providers").
const (
	FailInvalidRequest FailureKind = "invalid_request" // the provider refused our request: a bug or a bad input
	FailAuth           FailureKind = "auth"            // our key is wrong or lacks permission: a configuration problem
	FailRateLimited    FailureKind = "rate_limited"    // transient; retry after RetryAfter
	FailQuota          FailureKind = "quota_exhausted" // our quota or credit is used up; not retryable now
	FailContentBlocked FailureKind = "content_blocked" // safety filters refused the prompt or the images
	FailNoOutput       FailureKind = "no_output"       // the model answered without an image or video
	FailUnavailable    FailureKind = "unavailable"     // overloaded or a server error; transient
	FailTimeout        FailureKind = "timeout"         // no answer within the budget
	FailBadResponse    FailureKind = "bad_response"    // an answer we cannot parse
)

// ProviderError is a classified provider failure. Message is safe to show to
// the tenant; Detail (the upstream's own words) only reaches the logs.
type ProviderError struct {
	Provider   string
	Kind       FailureKind
	Message    string
	Detail     string
	Status     int // upstream HTTP status, when there was one
	RetryAfter time.Duration
	// Final says the failure ended the upstream job (a long-running
	// operation that finished with an error): asking about it again cannot
	// change the outcome, whatever Kind says about a new request later.
	Final bool
}

func (e *ProviderError) Error() string {
	s := fmt.Sprintf("%s: %s: %s", e.Provider, e.Kind, e.Message)
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Retryable reports whether the same request may succeed if sent again soon.
func (e *ProviderError) Retryable() bool {
	if e.Final {
		return false
	}
	switch e.Kind {
	case FailRateLimited, FailUnavailable, FailNoOutput:
		return true
	}
	return false
}

// Code maps the failure onto the API's error codes: blocked content is the
// tenant's to fix, a busy upstream is worth retrying later, a timeout is a
// timeout, and everything else is the upstream's failure.
func (e *ProviderError) Code() Code {
	switch e.Kind {
	case FailContentBlocked:
		return CodeContentBlocked
	case FailRateLimited, FailUnavailable:
		return CodeUpstreamUnavailable
	case FailTimeout:
		return CodeGenerationTimeout
	}
	return CodeUpstreamError
}

// ConfigurationProblem reports whether the failure means our deployment is
// misconfigured (bad key, unknown model, malformed request), which operators
// must hear about loudly.
func (e *ProviderError) ConfigurationProblem() bool {
	return e.Kind == FailAuth || e.Kind == FailInvalidRequest || e.Kind == FailQuota
}

// Storage keeps output bytes and gives them a stable URL.
type Storage interface {
	// Put stores data under a name unique to the generation and returns its URL.
	Put(ctx context.Context, name, contentType string, data []byte) (url string, err error)
}

// Fetcher loads an input image from an https:// or data: URL, refusing
// private addresses, oversized bodies and anything that is not PNG, JPEG or
// WebP. Its errors are invalid_request errors naming no field; the caller
// adds the field.
type Fetcher interface {
	FetchImage(ctx context.Context, rawURL string) (*Image, error)
}
