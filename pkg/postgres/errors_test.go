package postgres

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestConnectionFailuresAreUnavailable: every way a connection fails while
// the database restarts is 503 unavailable, never an internal error; the
// statement's own failures are not.
func TestConnectionFailuresAreUnavailable(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	for name, err := range map[string]error{
		"unexpected EOF mid-answer":  fmt.Errorf("failed to receive message: %w", io.ErrUnexpectedEOF),
		"EOF":                        fmt.Errorf("receive message: %w", io.EOF),
		"unexpected EOF in words":    errors.New("unexpected EOF"),
		"connection reset":           reset,
		"bare ECONNRESET":            fmt.Errorf("write: %w", syscall.ECONNRESET),
		"connection refused":         fmt.Errorf("dial: %w", syscall.ECONNREFUSED),
		"broken pipe":                fmt.Errorf("write: %w", syscall.EPIPE),
		"conn closed":                pgconn.ErrConnClosed,
		"server closed in words":     errors.New("server closed the connection unexpectedly"),
		"admin shutdown 57P01":       &pgconn.PgError{Code: "57P01"},
		"crash shutdown 57P02":       &pgconn.PgError{Code: "57P02"},
		"cannot connect now 57P03":   &pgconn.PgError{Code: "57P03"},
		"statement timeout 57014":    &pgconn.PgError{Code: "57014"},
		"too many connections 53300": &pgconn.PgError{Code: "53300"},
		"connection failure 08006":   &pgconn.PgError{Code: "08006"},
	} {
		if code := tryon.ErrorCode(translate(err, "op")); code != tryon.CodeUnavailable {
			t.Errorf("%s: %s, want unavailable", name, code)
		}
	}
	for name, err := range map[string]error{
		"syntax error":      &pgconn.PgError{Code: "42601"},
		"deadlock detected": &pgconn.PgError{Code: "40P01"},
		"a bug":             errors.New("scan: wrong number of columns"),
	} {
		if code := tryon.ErrorCode(translate(err, "op")); code != tryon.CodeInternal {
			t.Errorf("%s: %s, want internal", name, code)
		}
	}
}
