package gemini

import (
	"context"
	"net/http"

	"github.com/tryonhq/tryon/pkg/tryon"
)

var _ tryon.Canceler = (*Provider)(nil)

// Cancel asks the Gemini API to stop a Veo operation, for a tenant's cancel:
// POST /v1beta/{operation}:cancel with an empty body, which Google's
// long-running operations answer 200 with an empty JSON object. It is best
// effort upstream too: the operation then ends done with error code 1
// (CANCELLED), or finishes anyway; a server that does not offer it answers
// 501 UNIMPLEMENTED, classified like any other failure. Whatever it answers,
// the generation stays canceled on our side.
func (p *Provider) Cancel(ctx context.Context, op string) error {
	name, _, ok := splitOperation(op)
	if !ok {
		return p.configProblem(&tryon.ProviderError{
			Provider: Name, Kind: tryon.FailInvalidRequest,
			Message: "the provider rejected the request",
			Detail:  "not a Veo operation name: " + truncate(op, 200),
		}, "")
	}
	r, err := p.send(ctx, http.MethodPost, "/v1beta/"+name+":cancel", nil)
	if err != nil {
		return err
	}
	if r.status != http.StatusOK {
		return p.httpFailure(r, name)
	}
	return nil
}
