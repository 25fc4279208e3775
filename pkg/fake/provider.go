package fake

import (
	"context"
	"sync"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// DefaultVideoLatency is how long a video operation runs when
// Options.VideoLatency is zero: long enough that a local run shows the
// product's "processing" state and its polling, short enough not to bore.
const DefaultVideoLatency = 3 * time.Second

// Options configures a Provider. The zero value answers image calls at once,
// finishes videos after DefaultVideoLatency, and fails only when a prompt asks.
type Options struct {
	// Latency is how long each image call takes.
	Latency time.Duration
	// VideoLatency is how long a video operation runs before Poll reports it
	// done: zero means DefaultVideoLatency, a negative value no wait at all.
	VideoLatency time.Duration
	// Fail, when set, makes every call fail this way, to rehearse an outage.
	Fail tryon.FailureKind
	// Now tells the time for video operations; nil means time.Now. Tests
	// inject a clock to move operations along without sleeping.
	Now func() time.Time
}

// Provider is the fake generation provider. It keeps no state between calls
// but the operations it canceled, so one value serves any number of
// goroutines, and an operation started by one Provider can be polled by
// another, in another process.
type Provider struct {
	opts Options
	// canceled holds the operation names Cancel was called for (cancel.go).
	canceled sync.Map
}

var (
	_ tryon.Provider = (*Provider)(nil)
	_ tryon.Operator = (*Provider)(nil)
)

// New returns a Provider configured by opts.
func New(opts Options) *Provider {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	switch {
	case opts.VideoLatency == 0:
		opts.VideoLatency = DefaultVideoLatency
	case opts.VideoLatency < 0:
		opts.VideoLatency = 0
	}
	return &Provider{opts: opts}
}

// Name returns "fake", the provider name recorded on generations.
func (p *Provider) Name() string { return "fake" }

// Model returns "fake-" followed by the service, so that stored generations
// and usage say plainly that no real model made them.
func (p *Provider) Model(s tryon.Service) string { return "fake-" + string(s) }

// Generate makes the output within ctx. Image services answer with a PNG of
// exactly the requested size; the video service starts an operation, waits
// for it and returns the MP4, for callers that treat every service alike.
func (p *Provider) Generate(ctx context.Context, req tryon.ProviderRequest) (*tryon.Result, error) {
	switch req.Service {
	case tryon.ServiceBanana, tryon.ServiceBananaPro, tryon.ServiceFashn, tryon.ServiceVTO:
		return p.generateImage(ctx, req)
	case tryon.ServiceVeo3:
		return p.generateVideo(ctx, req)
	}
	return nil, p.invalid("the fake provider does not offer service %q", req.Service)
}

// wait lets d pass, or fails as a timeout when ctx ends first: the caller's
// budget ran out while the "upstream" was still working.
func (p *Provider) wait(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return p.timeout(err)
	}
	if err := tryon.Sleep(ctx, d); err != nil {
		return p.timeout(err)
	}
	return nil
}

// forced returns the failure that Options.Fail imposes on every call, if any.
func (p *Provider) forced(output string) error {
	if p.opts.Fail == "" {
		return nil
	}
	return p.failure(p.opts.Fail, output, "forced by the provider's Fail option")
}
