package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Migrating while traffic flows. Run as one script, the schema was one
// implicit transaction: every table lock its statements took (an index
// check on clients, then one on generations) was held to its end, and a
// settlement holding generations while waiting for clients deadlocked with
// it. So the schema is applied one statement at a time, each its own short
// transaction holding at most the locks of that statement; what is already
// there (a table or index of that name) is skipped after a catalog look-up,
// without taking any lock; a statement waits for a lock at most
// migrateLockTimeout, well under the server's deadlock_timeout, so if a
// cycle ever forms it is the migration that gives way, never a request,
// and the statement is retried.
const (
	migrateLockTimeout = 300 * time.Millisecond
	migrateAttempts    = 50
)

// applyStatements applies a schema script statement by statement (see above).
func applyStatements(ctx context.Context, conn *pgx.Conn, script string) error {
	if _, err := conn.Exec(ctx, fmt.Sprintf("SET lock_timeout = '%dms'", migrateLockTimeout.Milliseconds())); err != nil {
		return fmt.Errorf("apply schema: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "RESET lock_timeout") //nolint:errcheck // the connection is the tool's own
	for _, stmt := range splitStatements(script) {
		if skip, err := alreadyThere(ctx, conn, stmt); err != nil {
			return fmt.Errorf("apply schema: %w", err)
		} else if skip {
			continue
		}
		var err error
		for attempt := 1; ; attempt++ {
			// The simple protocol: a statement may be a DO block or a
			// function whose body holds semicolons, and takes no parameters.
			_, err = conn.PgConn().Exec(ctx, stmt).ReadAll()
			if err == nil || !lockConflict(err) || attempt == migrateAttempts {
				break
			}
			if sleepErr := tryon.Sleep(ctx, time.Duration(attempt)*50*time.Millisecond); sleepErr != nil {
				return sleepErr
			}
		}
		if err != nil {
			return fmt.Errorf("apply schema: %w\nin: %s", err, firstLine(stmt))
		}
	}
	return nil
}

// lockConflict reports whether a statement lost to concurrent traffic: its
// lock wait timed out, or it was chosen to break a deadlock.
func lockConflict(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "55P03" || pgErr.Code == "40P01" || pgErr.Code == "40001")
}

var createIfNotExists = regexp.MustCompile(`(?is)^CREATE\s+(?:UNIQUE\s+)?(?:UNLOGGED\s+)?(TABLE|INDEX)\s+IF\s+NOT\s+EXISTS\s+([a-z_][a-z0-9_]*)\b`)

// alreadyThere reports whether stmt creates, if missing, a table or index
// that exists: CREATE INDEX IF NOT EXISTS locks its table against writes
// before it looks, so it is looked up here first, lock-free.
func alreadyThere(ctx context.Context, conn *pgx.Conn, stmt string) (bool, error) {
	m := createIfNotExists.FindStringSubmatch(stripLeadingComments(stmt))
	if m == nil {
		return false, nil
	}
	var exists bool
	err := conn.QueryRow(ctx, `SELECT to_regclass(quote_ident($1)) IS NOT NULL`, strings.ToLower(m[2])).Scan(&exists)
	return exists, err
}

// splitStatements splits a SQL script at the semicolons that end its
// statements, not those inside quotes, dollar-quoted bodies or comments.
// Empty statements and comment-only tails are dropped.
func splitStatements(script string) []string {
	var out []string
	start := 0
	for i := 0; i < len(script); i++ {
		switch c := script[i]; {
		case c == '-' && strings.HasPrefix(script[i:], "--"):
			if j := strings.IndexByte(script[i:], '\n'); j >= 0 {
				i += j
			} else {
				i = len(script)
			}
		case c == '/' && strings.HasPrefix(script[i:], "/*"):
			if j := strings.Index(script[i+2:], "*/"); j >= 0 {
				i += j + 3
			} else {
				i = len(script)
			}
		case c == '\'' || c == '"':
			for i++; i < len(script) && script[i] != c; i++ {
			}
		case c == '$':
			if tag := dollarTag(script[i:]); tag != "" {
				if j := strings.Index(script[i+len(tag):], tag); j >= 0 {
					i += len(tag) + j + len(tag) - 1
				} else {
					i = len(script)
				}
			}
		case c == ';':
			if s := strings.TrimSpace(script[start : i+1]); stripLeadingComments(s) != ";" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	if s := strings.TrimSpace(script[start:]); stripLeadingComments(s) != "" {
		out = append(out, s)
	}
	return out
}

// dollarTag returns the dollar-quote opening s, like $$ or $body$, or "".
func dollarTag(s string) string {
	for j := 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '$':
			return s[:j+1]
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 1 && c >= '0' && c <= '9':
		default:
			return ""
		}
	}
	return ""
}

// stripLeadingComments drops the comment lines and blank space before a
// statement's first word.
func stripLeadingComments(s string) string {
	for {
		s = strings.TrimSpace(s)
		if !strings.HasPrefix(s, "--") {
			return s
		}
		j := strings.IndexByte(s, '\n')
		if j < 0 {
			return ""
		}
		s = s[j+1:]
	}
}

func firstLine(stmt string) string {
	s := stripLeadingComments(stmt)
	if j := strings.IndexByte(s, '\n'); j >= 0 {
		return s[:j] + " …"
	}
	return s
}
