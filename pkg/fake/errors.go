package fake

import (
	"fmt"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// retryAfter is the hint that transient failures carry, as a real upstream's
// Retry-After would.
const retryAfter = 2 * time.Second

// failure builds a classified error whose Message is safe to show a tenant;
// output ("image" or "video") names what was not made, and detail, which
// only reaches the logs, says why the fake failed.
func (p *Provider) failure(kind tryon.FailureKind, output, detail string) *tryon.ProviderError {
	e := &tryon.ProviderError{Provider: p.Name(), Kind: kind, Detail: detail}
	switch kind {
	case tryon.FailContentBlocked:
		e.Message = "the fake provider blocked this prompt"
	case tryon.FailUnavailable:
		e.Message = "the fake provider is unavailable; try again shortly"
		e.RetryAfter = retryAfter
	case tryon.FailRateLimited:
		e.Message = "the fake provider is rate limited; try again shortly"
		e.RetryAfter = retryAfter
	case tryon.FailBadResponse:
		e.Message = "the fake provider returned an answer that could not be read"
	case tryon.FailNoOutput:
		e.Message = "the fake provider returned no " + output
	case tryon.FailTimeout:
		e.Message = "the fake provider did not finish in time"
	case tryon.FailQuota:
		e.Message = "the fake provider's quota is used up"
	case tryon.FailAuth:
		e.Message = "the fake provider rejected its credentials"
	case tryon.FailInvalidRequest:
		e.Message = "the fake provider refused the request"
	default:
		e.Message = "the fake provider failed"
	}
	return e
}

// invalid is a request the fake cannot serve, as a real upstream would
// answer 400; the Message stays generic and the reason goes to Detail.
func (p *Provider) invalid(format string, args ...any) *tryon.ProviderError {
	return p.failure(tryon.FailInvalidRequest, "", fmt.Sprintf(format, args...))
}

// timeout is the failure for a context that ended before the work did.
func (p *Provider) timeout(cause error) *tryon.ProviderError {
	return p.failure(tryon.FailTimeout, "", cause.Error())
}

// scenarioFailure is the failure a prompt token asked for, or nil.
func (p *Provider) scenarioFailure(sc scenario, output string) error {
	if sc.fail == "" {
		return nil
	}
	return p.failure(sc.fail, output, "the prompt asked for "+sc.token)
}
