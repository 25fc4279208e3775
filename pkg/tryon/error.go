package tryon

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error code. The API returns it as the
// envelope's "code"; the HTTP layer maps each one to exactly one status.
type Code string

// The error codes of the API contract (docs/API.md, "Errors").
const (
	CodeInvalidRequest        Code = "invalid_request"
	CodeUnauthorized          Code = "unauthorized"
	CodeInsufficientCredits   Code = "insufficient_credits"
	CodeForbidden             Code = "forbidden"
	CodeNotFound              Code = "not_found"
	CodeMethodNotAllowed      Code = "method_not_allowed"
	CodeIdempotencyInProgress Code = "idempotency_in_progress"
	CodePayloadTooLarge       Code = "payload_too_large"
	CodeUnsupportedMediaType  Code = "unsupported_media_type"
	CodeIdempotencyMismatch   Code = "idempotency_mismatch"
	CodeContentBlocked        Code = "content_blocked"
	CodeRateLimited           Code = "rate_limited"
	CodeConcurrencyLimited    Code = "concurrency_limited"
	CodeInternal              Code = "internal"
	CodeUpstreamError         Code = "upstream_error"
	CodeUpstreamUnavailable   Code = "upstream_unavailable"
	CodeUnavailable           Code = "unavailable"
	CodeGenerationTimeout     Code = "generation_timeout"
	// CodeGenerationFinished refuses to cancel a generation that already
	// succeeded or failed.
	CodeGenerationFinished Code = "generation_finished"
	// CodeGone: an output erased or past its tenant's retention (410).
	CodeGone Code = "gone"
	// CodeGenerationProcessing: a generation still processing cannot be
	// erased (409); cancel it or wait for it to finish.
	CodeGenerationProcessing Code = "generation_processing"
)

// FieldError names one invalid field of a request by its JSON name (nested
// names are dotted, as in "metadata.color").
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the one error type the layers exchange. Its Message is safe to show
// to a tenant; anything that is not (a driver error, a provider's raw body)
// travels in Cause and reaches only the logs.
type Error struct {
	Code    Code
	Message string
	// Details lists the invalid fields of a validation error.
	Details []FieldError
	// RetryAfter, when positive, becomes the Retry-After header.
	RetryAfter time.Duration
	// Cause is the underlying error, logged but never returned.
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf returns an *Error with a formatted, tenant-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an invalid_request error listing the given field errors.
func Invalid(details ...FieldError) *Error {
	msg := "the request is invalid"
	if len(details) == 1 {
		msg = details[0].Field + " " + details[0].Message
	}
	return &Error{Code: CodeInvalidRequest, Message: msg, Details: details}
}

// ErrorCode returns the code of the first *Error in err's chain, or
// CodeInternal for any other non-nil error.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Sentinel errors the stores return; callers test them with errors.Is and the
// HTTP layer maps them through ErrorCode like any other *Error.
var (
	// ErrNotFound means the record does not exist or belongs to another tenant.
	ErrNotFound = &Error{Code: CodeNotFound, Message: "not found"}
	// ErrUnavailable means the database could not be reached in time.
	ErrUnavailable = &Error{Code: CodeUnavailable, Message: "the database is unavailable"}
	// ErrSuspended means the caller's tenant is suspended: its keys still
	// authenticate, so it learns why it is refused.
	ErrSuspended = &Error{Code: CodeForbidden, Message: "this account is suspended"}
	// ErrGone means an output existed but was erased or outlived its
	// tenant's retention: a tombstone tells it from an unknown token.
	ErrGone = &Error{Code: CodeGone, Message: "this output was deleted (erased, or past its retention period)"}
)
