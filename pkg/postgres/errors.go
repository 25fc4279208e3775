package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

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
		}
		if serverUnavailable(pgErr.Code) {
			return unavailable(err, op)
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	if connectionLost(err) {
		return unavailable(err, op)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func unavailable(err error, op string) error {
	return &tryon.Error{Code: tryon.CodeUnavailable, Message: tryon.ErrUnavailable.Message, Cause: fmt.Errorf("%s: %w", op, err)}
}

// serverUnavailable reports whether a SQLSTATE says the server, not the
// statement, failed: class 08 (connection exception), class 57 (operator
// intervention: admin or crash shutdown 57P01/57P02, cannot connect now
// 57P03, our own statement timeout 57014) and class 53 (insufficient
// resources: too many connections, out of disk or memory).
func serverUnavailable(code string) bool {
	return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "57") || strings.HasPrefix(code, "53")
}

// connectionLost reports whether err is a failure of the connection rather
// than of the statement: the server went away mid-answer (pgx's "unexpected
// EOF"), the connection was reset, refused or closed, dialling or a
// statement timed out, or pgx closed a connection it had found broken. All
// of them end when the database is back, so they are "unavailable", never
// an internal error.
func connectionLost(err error) bool {
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr),
		errors.Is(err, context.DeadlineExceeded), pgconn.SafeToRetry(err), pgconn.Timeout(err),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED):
		return true
	}
	// pgx reports some of these only in words: a connection it closed after
	// a failure ("conn closed"), a server that hung up, a pool being reset.
	msg := err.Error()
	for _, s := range []string{"conn closed", "unexpected EOF", "server closed the connection",
		"connection reset", "connection refused", "broken pipe", "failed to receive message", "failed to write"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
