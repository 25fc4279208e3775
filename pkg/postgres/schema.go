package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/jackc/pgx/v5"
)

// SchemaFile is the schema's file name at the repository root.
const SchemaFile = "schema.sql"

// FindSchema locates schema.sql: in the current folder or one above it (the
// CLI runs from the repository), or next to this package's source (tests and
// `go run`, wherever the working folder is).
func FindSchema() (string, error) {
	if dir, err := os.Getwd(); err == nil {
		for d := dir; ; d = filepath.Dir(d) {
			p := filepath.Join(d, SchemaFile)
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				if _, err := os.Stat(p); err == nil {
					return p, nil
				}
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		p := filepath.Join(filepath.Dir(file), "..", "..", SchemaFile)
		if _, err := os.Stat(p); err == nil {
			return filepath.Clean(p), nil
		}
	}
	return "", errors.New("postgres: schema.sql not found; run from the repository or pass its path")
}

// ApplySchema runs the schema file on conn. The schema is idempotent, so
// applying it to an up-to-date database changes nothing.
func ApplySchema(ctx context.Context, conn *pgx.Conn, path string) error {
	sql, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	// The simple protocol runs the whole multi-statement file in one go.
	if _, err := conn.PgConn().Exec(ctx, string(sql)).ReadAll(); err != nil {
		return fmt.Errorf("apply schema: %w", err)
	}
	return nil
}
