package fake

import (
	"context"

	"github.com/tryonhq/tryon/pkg/tryon"
)

var _ tryon.Canceler = (*Provider)(nil)

// Cancel stops a video operation, as Veo's operations cancel: the name
// must be one of the fake's (else invalid_request, as upstream answers an
// unknown operation), and a later Poll of it through this Provider reports
// the job ended canceled, a final failure. Operations are otherwise
// stateless (see the package comment); a cancel is the one thing kept, in
// this Provider's memory only, which is enough because Tryon never polls a
// generation it canceled: the memory only lets a test see that the cancel
// arrived. Cancelling twice, or an operation already done, is no error.
func (p *Provider) Cancel(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return p.timeout(err)
	}
	if err := p.forced("video"); err != nil {
		return err
	}
	if _, err := parseOperation(name); err != nil {
		return p.invalid("%v", err)
	}
	p.canceled.Store(name, true)
	return nil
}

// Canceled reports whether Cancel was called for the operation.
func (p *Provider) Canceled(name string) bool {
	_, ok := p.canceled.Load(name)
	return ok
}

// canceledFailure is what polling a canceled operation answers: done, with
// the job's end, which no later poll changes (Final).
func (p *Provider) canceledFailure() *tryon.ProviderError {
	e := p.failure(tryon.FailBadResponse, "video", "the operation was canceled")
	e.Message, e.Final = "the video job was canceled", true
	return e
}
