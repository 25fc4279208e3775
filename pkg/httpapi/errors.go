package httpapi

import (
	"errors"
	"net/http"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// statusOf is the one mapping from error codes to HTTP statuses (docs/API.md,
// "Errors").
var statusOf = map[tryon.Code]int{
	tryon.CodeInvalidRequest:        http.StatusBadRequest,
	tryon.CodeUnauthorized:          http.StatusUnauthorized,
	tryon.CodeInsufficientCredits:   http.StatusPaymentRequired,
	tryon.CodeForbidden:             http.StatusForbidden,
	tryon.CodeNotFound:              http.StatusNotFound,
	tryon.CodeMethodNotAllowed:      http.StatusMethodNotAllowed,
	tryon.CodeIdempotencyInProgress: http.StatusConflict,
	tryon.CodePayloadTooLarge:       http.StatusRequestEntityTooLarge,
	tryon.CodeUnsupportedMediaType:  http.StatusUnsupportedMediaType,
	tryon.CodeIdempotencyMismatch:   http.StatusUnprocessableEntity,
	tryon.CodeContentBlocked:        http.StatusUnprocessableEntity,
	tryon.CodeRateLimited:           http.StatusTooManyRequests,
	tryon.CodeConcurrencyLimited:    http.StatusTooManyRequests,
	tryon.CodeInternal:              http.StatusInternalServerError,
	tryon.CodeUpstreamError:         http.StatusBadGateway,
	tryon.CodeUpstreamUnavailable:   http.StatusServiceUnavailable,
	tryon.CodeUnavailable:           http.StatusServiceUnavailable,
	tryon.CodeGenerationTimeout:     http.StatusGatewayTimeout,
	tryon.CodeGenerationFinished:    http.StatusConflict,
	tryon.CodeGone:                  http.StatusGone,
	tryon.CodeGenerationProcessing:  http.StatusConflict,
}

// StatusOf returns the HTTP status of an error code.
func StatusOf(code tryon.Code) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// publicError returns what a tenant may see of err: its coded message, or
// for anything that is not a *tryon.Error (a bug), a generic internal error.
func publicError(err error) *tryon.Error {
	var e *tryon.Error
	if errors.As(err, &e) && e.Code != tryon.CodeInternal {
		return e
	}
	return &tryon.Error{Code: tryon.CodeInternal, Message: "internal error"}
}
