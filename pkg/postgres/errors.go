package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// translate turns a pgx error into a domain error, so no caller ever sees a
// driver error: no rows is not found, an unreachable or stalled database is
// unavailable, constraint violations are invalid requests, and anything else
// is an internal error wrapped with the operation's name.
func translate(err error, op string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return tryon.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return &tryon.Error{Code: tryon.CodeInvalidRequest, Message: "already exists", Cause: err}
		case "23503": // foreign_key_violation
			return &tryon.Error{Code: tryon.CodeNotFound, Message: "not found", Cause: err}
		case "23514", "22P02", "22003", "22023": // check, invalid text, out of range, invalid parameter
			return &tryon.Error{Code: tryon.CodeInvalidRequest, Message: "invalid value", Cause: err}
		case "57P01", "57P02", "57P03", "53300", "08000", "08003", "08006", "08001", "08004":
			// admin shutdown, crash shutdown, cannot connect now, too many
			// connections, connection exceptions
			return &tryon.Error{Code: tryon.CodeUnavailable, Message: tryon.ErrUnavailable.Message, Cause: fmt.Errorf("%s: %w", op, err)}
		case "57014": // query_canceled: our statement timeout
			return &tryon.Error{Code: tryon.CodeUnavailable, Message: tryon.ErrUnavailable.Message, Cause: fmt.Errorf("%s: %w", op, err)}
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return &tryon.Error{Code: tryon.CodeUnavailable, Message: tryon.ErrUnavailable.Message, Cause: fmt.Errorf("%s: %w", op, err)}
	}
	return fmt.Errorf("%s: %w", op, err)
}
