package safefetch

import (
	"context"
	"errors"
	"fmt"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// The tenant-facing messages shared by several paths. They name no field:
// the caller knows which field the URL came from and prefixes it.
const (
	msgBlocked  = "points to a private or local address"
	msgNotImage = "is not a PNG, JPEG or WebP image"
	msgSchemes  = "must be an http(s) or data: URL"
)

var errTooManyRedirects = errors.New("too many redirects")

// refuse builds the invalid_request error every method returns; the cause
// reaches the logs only.
func refuse(msg string, cause error) *tryon.Error {
	return &tryon.Error{Code: tryon.CodeInvalidRequest, Message: msg, Cause: cause}
}

// tooLarge words the size limit the way a tenant reads it: "10 MB", not
// "10485760 bytes".
func tooLarge(limit int64, cause error) *tryon.Error {
	return refuse("is larger than "+formatBytes(limit), cause)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// tooManyPixels refuses an image whose header declares more pixels than the
// limit: decoding it would need width*height*4 bytes, far more than its file.
func tooManyPixels(limit int64, w, h int) *tryon.Error {
	what := fmt.Sprintf("%d pixels", limit)
	if limit%1_000_000 == 0 {
		what = fmt.Sprintf("%d megapixels", limit/1_000_000)
	}
	return refuse("is larger than "+what, fmt.Errorf("image is %dx%d pixels", w, h))
}

// fetchFailure classifies an error from sending the request or reading its
// body. ctx is the fetch's own context, whose deadline is the whole-fetch
// timeout.
func fetchFailure(ctx context.Context, err error) *tryon.Error {
	var te *tryon.Error
	switch {
	case errors.As(err, &te):
		// Refused by the redirect check, already worded for the tenant.
		return te
	case errors.Is(err, ErrBlocked):
		return refuse(msgBlocked, err)
	case errors.Is(err, errTooManyRedirects):
		return refuse("could not be fetched (too many redirects)", err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(ctx.Err(), context.DeadlineExceeded):
		return refuse("could not be fetched in time", err)
	}
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		// Keep context.Canceled in the chain so the caller can tell that its
		// own request went away rather than the tenant's server.
		err = fmt.Errorf("%w (%w)", err, ctxErr)
	}
	return refuse("could not be fetched", err)
}
