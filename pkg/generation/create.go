package generation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Options carry what the HTTP layer knows about a POST /generate beyond its
// body.
type Options struct {
	IdempotencyKey *string
	// RequestHash identifies the request for idempotency: the SHA-256 of its
	// canonical JSON.
	RequestHash []byte
	// Wait is the Prefer: wait the caller asked for; negative for none.
	Wait time.Duration
	// PlatformDeadline is the platform's own deadline for this invocation,
	// when it sends one.
	PlatformDeadline time.Time
	// BaseURL makes output URLs absolute in webhook payloads.
	BaseURL string
	// InputsRead, when set, is called once the input images are fetched
	// and normalised (or refused): from then on the request no longer
	// holds its body's inline images, and the HTTP layer may admit another
	// large body.
	InputsRead func()
}

// Result is what a request to generate produced.
type Result struct {
	// Generation is the generation the request made or replayed; nil when
	// the request was refused before one was recorded.
	Generation *tryon.Generation
	// Rate is where the key stands after the store counted this request;
	// nil when the request ended before the store counted it (a bad input
	// image, say): the request wrapper counts it then.
	Rate *tryon.RateState
	// CreditsRemaining is the unreserved prepaid balance; nil for postpaid.
	// CreditsKnown says whether admission ran and so filled it in.
	CreditsRemaining *tryon.Micros
	CreditsKnown     bool
	// Replayed is true when an Idempotency-Key returned an earlier result.
	Replayed bool
	// Pending is true when a long job is still running: answer 202.
	Pending bool

	// admission is what this request admitted, kept so that finishing can
	// record it again if a database crash lost it (admission commits
	// asynchronously; see tryon_admit). Nil for a replay or a read.
	admission *tryon.Admission
}

// Create runs POST /generate for a tenant key. A generation that was
// recorded and failed is returned in Result with a nil error: the caller
// maps its error code. A non-nil error means nothing was recorded (bad
// input, limits, credits) or the platform failed.
func (r *Runner) Create(ctx context.Context, p *tryon.Principal, spec Spec, opts Options) (*Result, error) {
	// Bookkeeping must finish even if a local client hangs up; on Vercel the
	// context never ends anyway.
	ctx = context.WithoutCancel(ctx)
	budget := NewBudget(r.now(), r.Settings.MaxDuration, r.Settings.Margin, opts.PlatformDeadline, opts.Wait)
	mode := p.Key.Kind.Mode()
	provider := r.Providers.For(mode, spec.Service)
	if provider == nil {
		return nil, tryon.Invalid(tryon.FieldError{Field: "service",
			Message: fmt.Sprintf("%s is not offered on this deployment", spec.Service)})
	}
	res := &Result{}

	// Fetching input URLs is the expensive part of a bad or repeated
	// request, so a request that needs it checks its rate limit and its
	// Idempotency-Key first.
	precounted := false
	// Not for client tokens: the precheck replays an Idempotency-Key
	// without knowing end users, and only admission (tryon_admit_token)
	// keeps one end user from another's generation.
	if p.Token == nil && spec.fetchesRemote() {
		pre, err := r.Store.PrecheckAdmission(ctx, p, opts.IdempotencyKey, opts.RequestHash)
		if pre != nil {
			res.Rate = &pre.Rate
		}
		if err != nil {
			return res, err
		}
		if pre.PriorID != nil {
			if !pre.SameRequest {
				return res, errIdempotencyMismatch
			}
			return r.replay(ctx, res, *pre.PriorID, budget, opts.BaseURL)
		}
		precounted = true
	}

	in, err := r.fetchInputs(ctx, spec, budget)
	// A data: URL is a string as large as the image; the normalised copies
	// are what the rest of the request uses.
	spec = spec.withoutImageRefs()
	if opts.InputsRead != nil {
		opts.InputsRead()
	}
	if err != nil {
		return res, err
	}

	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	admission := tryon.Admission{
		ID: id, KeyID: p.Key.ID, ClientID: p.Client.ID, Mode: mode, Service: spec.Service,
		Provider: provider.Name(), Model: provider.Model(spec.Service), Prompt: spec.Prompt,
		Width: spec.Width, Height: spec.Height, DurationSecs: spec.DurationSeconds, NumOutputs: spec.NumOutputs, Metadata: spec.Metadata,
		IdempotencyKey: opts.IdempotencyKey, RequestHash: opts.RequestHash,
		DefaultPrice: r.Settings.DefaultPrice(spec.Service), Lifetime: budget.Lifetime(), Precounted: precounted,
		Token: p.Token,
	}
	admitted, err := r.Store.Admit(ctx, admission)
	if err != nil {
		return nil, err
	}
	// Admission refuses a suspended tenant before it counts the request;
	// leaving Rate nil lets the request wrapper count it.
	if !precounted && admitted.Outcome != tryon.Suspended {
		res.Rate = &admitted.Rate
	}
	// Admission sums the tenant's reservations only once it gets as far as
	// the concurrency and credit checks; an answer refused before them
	// (rate limit, idempotency) leaves the credits for the request wrapper
	// to look up, so that X-Credits-Remaining is true on every answer.
	switch admitted.Outcome {
	case tryon.Admitted, tryon.ConcurrencyLimited, tryon.InsufficientCredits:
		res.CreditsRemaining, res.CreditsKnown = admitted.CreditsRemaining(), true
	}
	switch admitted.Outcome {
	case tryon.Admitted:
		res.admission = &admission
	case tryon.RateLimited:
		return res, admitted.Rate.Error()
	case tryon.Suspended:
		return res, tryon.ErrSuspended
	case tryon.ConcurrencyLimited:
		return res, &tryon.Error{Code: tryon.CodeConcurrencyLimited, RetryAfter: admitted.RetryAfter,
			Message: fmt.Sprintf("this account already has its maximum of %d generations in flight", p.Client.MaxConcurrent)}
	case tryon.InsufficientCredits:
		return res, &tryon.Error{Code: tryon.CodeInsufficientCredits,
			Message: insufficientMessage(admitted.PriceMicros, spec.NumOutputs)}
	case tryon.Replay:
		return r.replay(ctx, res, admitted.GenerationID, budget, opts.BaseURL)
	case tryon.IdempotencyMismatch:
		return res, errIdempotencyMismatch
	default:
		return nil, fmt.Errorf("admit: unknown outcome %q", admitted.Outcome)
	}

	if params := spec.Params(); params != nil {
		// Recorded beside the generation, not in admission: a try-on costs
		// one more short statement, other requests none.
		if err := r.Store.RecordParams(ctx, id, params); err != nil {
			r.Log.Error("record generation params", "generation", id, "error", err)
			return r.finish(ctx, res, id, tryon.Completion{Error: &tryon.GenerationError{
				Code: tryon.CodeUpstreamError, Message: "the request could not be recorded"}}, budget, opts.BaseURL)
		}
	}
	req := tryon.ProviderRequest{Service: spec.Service, Prompt: spec.Prompt, Width: spec.Width, Height: spec.Height,
		Person: in.person, Garment: in.garment, DurationSeconds: spec.DurationSeconds,
		Seed: spec.Seed, OutputFormat: spec.OutputFormat, OutputQuality: spec.OutputQuality, NumOutputs: spec.NumOutputs}
	if len(spec.Garments) > 0 {
		req.Garments = garmentsOf(spec.Garments, in.garments)
	}
	if op, ok := provider.(tryon.Operator); ok && spec.Service.IsVideo() {
		return r.runLong(ctx, res, id, op, req, budget, opts.BaseURL)
	}
	return r.runSync(ctx, res, id, provider, req, budget, opts.BaseURL)
}

// insufficientMessage says why a prepaid balance refused a generation: the
// price reserved, and per output when several were asked for.
func insufficientMessage(price tryon.Micros, outputs int) string {
	if outputs > 1 {
		return fmt.Sprintf("the prepaid balance cannot cover this generation (%d outputs, price %s USD)", outputs, price)
	}
	return fmt.Sprintf("the prepaid balance cannot cover this generation (price %s USD)", price)
}

var (
	errIdempotencyMismatch = tryon.Errorf(tryon.CodeIdempotencyMismatch, "this Idempotency-Key was used with a different request")
	errInProgress          = tryon.Errorf(tryon.CodeIdempotencyInProgress, "a request with this Idempotency-Key is still being processed")
)

// replay answers a repeated Idempotency-Key with the first request's
// generation: its result when it has one, 202 when it became a long job,
// 409 while the first request is still working on it.
func (r *Runner) replay(ctx context.Context, res *Result, id uuid.UUID, budget Budget, baseURL string) (*Result, error) {
	g, err := r.Store.FindGeneration(ctx, id)
	if err != nil {
		return nil, err
	}
	if g.Expired(r.now()) {
		// The first request died; finish its record before showing it.
		if _, err := r.finish(ctx, res, g.ID, timeoutCompletion(), budget, baseURL); err != nil {
			return nil, err
		}
		g = res.Generation
	}
	res.Generation = g
	if g.Status == tryon.StatusProcessing {
		if g.Operation == "" {
			// Still being worked on: nothing is replayed yet.
			return res, errInProgress
		}
		res.Pending = true
	}
	res.Replayed = true
	return res, nil
}

// inputs are a request's fetched images.
type inputs struct {
	person, garment *tryon.Image
	garments        []*tryon.Image
}

// fetchInputs loads the input images, all at once, within the budget.
// Every image that cannot be used is reported under its own field.
func (r *Runner) fetchInputs(ctx context.Context, spec Spec, budget Budget) (inputs, error) {
	type want struct {
		field, url string
		into       **tryon.Image
	}
	var in inputs
	var wants []want
	if spec.PersonImage != "" {
		wants = append(wants, want{"person_image", spec.PersonImage, &in.person})
	}
	if spec.GarmentImage != "" {
		wants = append(wants, want{"garment_image", spec.GarmentImage, &in.garment})
	}
	in.garments = make([]*tryon.Image, len(spec.Garments))
	for i, g := range spec.Garments {
		wants = append(wants, want{fmt.Sprintf("garments[%d].image", g.Index), g.Image, &in.garments[i]})
	}
	if len(wants) == 0 {
		return in, nil
	}
	ctx, cancel := context.WithDeadline(ctx, budget.Work)
	defer cancel()
	errs := make([]error, len(wants))
	var wg sync.WaitGroup
	for i, w := range wants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			*w.into, errs[i] = r.Fetcher.FetchImage(ctx, w.url)
		}()
	}
	wg.Wait()
	var details []tryon.FieldError
	for i, err := range errs {
		if err == nil {
			continue
		}
		var te *tryon.Error
		if !errors.As(err, &te) || te.Code != tryon.CodeInvalidRequest {
			return inputs{}, fmt.Errorf("fetch %s: %w", wants[i].field, err)
		}
		details = append(details, tryon.FieldError{Field: wants[i].field, Message: te.Message})
	}
	if len(details) > 0 {
		return inputs{}, tryon.Invalid(sortDetails(details)...)
	}
	return in, nil
}

// withoutImageRefs is s without its input images' URLs, once they are
// fetched, so that their strings (a data: URL is as large as its image) are
// not kept alive by the spec while the provider works.
func (s Spec) withoutImageRefs() Spec {
	s.PersonImage, s.GarmentImage = "", ""
	s.Garments = slices.Clone(s.Garments)
	for i := range s.Garments {
		s.Garments[i].Image = ""
	}
	return s
}

// runSync calls an image provider within the budget and finishes the
// generation with its output or its failure.
func (r *Runner) runSync(ctx context.Context, res *Result, id uuid.UUID, provider tryon.Provider, req tryon.ProviderRequest, budget Budget, baseURL string) (*Result, error) {
	pctx, cancel := context.WithDeadline(ctx, budget.Wait)
	out, err := timed(ctx, func() (*tryon.Result, error) { return provider.Generate(pctx, req) })
	timedOut := pctx.Err() != nil
	cancel()
	if err == nil && req.OutputFormat != "" {
		if out, err = convertOutputs(out, req.OutputFormat, req.OutputQuality); err != nil {
			r.Log.Error("convert output", "generation", id, "error", err)
			return r.finish(ctx, res, id, tryon.Completion{Error: &tryon.GenerationError{
				Code: tryon.CodeUpstreamError, Message: "the output could not be converted to " + string(req.OutputFormat)}}, budget, baseURL)
		}
	}
	if err == nil && len(out.More) >= req.Outputs() {
		// A provider never returns more than asked; if one did, nobody
		// pays for (or stores) what was not asked for.
		out.More = out.More[:req.Outputs()-1]
	}
	if err != nil {
		return r.finish(ctx, res, id, r.failure(id, err, timedOut), budget, baseURL)
	}
	return r.complete(ctx, res, id, out, budget, baseURL)
}

// runLong starts a long-running job and polls it until it is done or the
// caller's wait runs out; then the generation stays processing, the
// reservation stays held, and later reads finish it.
func (r *Runner) runLong(ctx context.Context, res *Result, id uuid.UUID, op tryon.Operator, req tryon.ProviderRequest, budget Budget, baseURL string) (*Result, error) {
	pctx, cancel := context.WithDeadline(ctx, budget.Work)
	defer cancel()
	name, err := timed(ctx, func() (string, error) { return op.Start(pctx, req) })
	if err != nil {
		return r.finish(ctx, res, id, r.failure(id, err, pctx.Err() != nil), budget, baseURL)
	}
	// The 202 below hands out the id: this synchronous commit makes the
	// admission durable first (or records it again if a crash lost it).
	if err := r.Store.SetOperation(ctx, id, name, r.Settings.LongJobDeadline, res.admission); err != nil {
		// The job runs but nobody could find it again: fail it now rather
		// than leave a reservation nobody can settle.
		r.Log.Error("store operation", "generation", id, "error", err)
		return r.finish(ctx, res, id, tryon.Completion{Error: &tryon.GenerationError{
			Code: tryon.CodeUpstreamError, Message: "the job could not be recorded"}}, budget, baseURL)
	}
	for {
		// Readers poll the same job: each poll is made under its lease, so
		// whoever finds the video done downloads and stores it alone, and
		// the others see the finished generation.
		claimed, g, err := r.Store.ClaimPoll(ctx, id, budget.Kill.Sub(r.now()))
		switch {
		case err == nil && g.Status != tryon.StatusProcessing:
			res.Generation = g
			return res, nil
		case err == nil && claimed:
			out, err := timed(ctx, func() (*tryon.Result, error) { return op.Poll(pctx, name) })
			switch {
			case err == nil && out != nil:
				return r.complete(ctx, res, id, out, budget, baseURL)
			case err != nil && !transient(err):
				return r.finish(ctx, res, id, r.failure(id, err, false), budget, baseURL)
			}
			if err := r.Store.HoldPoll(ctx, id, r.Settings.PollInterval); err != nil {
				r.Log.Warn("hold poll", "generation", id, "error", err)
			}
		case err != nil:
			r.Log.Warn("claim poll", "generation", id, "error", err)
		}
		wait := min(r.Settings.PollInterval, time.Until(budget.Wait))
		if wait <= 0 || tryon.Sleep(pctx, wait) != nil {
			break
		}
	}
	g, err := r.Store.FindGeneration(ctx, id)
	if err != nil {
		return nil, err
	}
	res.Generation, res.Pending = g, g.Status == tryon.StatusProcessing
	return res, nil
}

// transient reports whether a poll failure says nothing about the job
// itself: the job goes on and the next poll may succeed.
func transient(err error) bool {
	var pe *tryon.ProviderError
	if errors.As(err, &pe) {
		return pe.Retryable() || pe.Kind == tryon.FailTimeout
	}
	return errors.Is(err, context.DeadlineExceeded)
}

func extension(contentType string) string {
	switch contentType {
	case media.PNG:
		return ".png"
	case media.JPEG:
		return ".jpg"
	case media.WebP:
		return ".webp"
	case media.MP4:
		return ".mp4"
	case media.WebM:
		return ".webm"
	}
	return ""
}

// failure classifies a provider error into the generation's recorded error.
func (r *Runner) failure(id uuid.UUID, err error, budgetSpent bool) tryon.Completion {
	var pe *tryon.ProviderError
	switch {
	case errors.As(err, &pe):
		if pe.ConfigurationProblem() {
			r.Log.Error("provider configuration problem", "generation", id, "provider", pe.Provider, "kind", pe.Kind, "status", pe.Status, "detail", pe.Detail)
		} else {
			r.Log.Warn("provider failed", "generation", id, "provider", pe.Provider, "kind", pe.Kind, "status", pe.Status, "detail", pe.Detail)
		}
		if pe.Kind == tryon.FailTimeout {
			return timeoutCompletion()
		}
		return tryon.Completion{Error: &tryon.GenerationError{Code: pe.Code(), Message: pe.Message}, RetryAfter: pe.RetryAfter}
	case budgetSpent || errors.Is(err, context.DeadlineExceeded):
		return timeoutCompletion()
	default:
		r.Log.Error("provider failed unexpectedly", "generation", id, "error", err)
		return tryon.Completion{Error: &tryon.GenerationError{Code: tryon.CodeUpstreamError, Message: "the provider failed"}}
	}
}

func timeoutCompletion() tryon.Completion {
	return tryon.Completion{Error: tryon.TimedOut()}
}
