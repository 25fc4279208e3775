package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5"
)

// SchemaFile is the schema's file name at the repository root: the one
// file an operator applies. It is assembled from the parts below, each kept
// beside the Go that calls it; TestSchemaFileIsItsParts keeps them equal
// (`go test ./pkg/postgres -run TestSchemaFileIsItsParts -update` rewrites it).
const SchemaFile = "schema.sql"

// SchemaParts are the schema's parts in the order they apply: tables and
// indexes first, then the functions, each before those that call it.
var SchemaParts = []string{
	"tables.sql",          // every table and index
	"outputs.sql",         // generations.outputs and num_outputs: several outputs per generation
	"ratelimit.sql",       // tryon_hit_rate: the per-key rate limit
	"credits.sql",         // tryon_in_flight, tryon_credits_remaining, tryon_price: slots, reservations, prices
	"admission.sql",       // tryon_admit: the admission checks, in order
	"rollups.sql",         // tryon_latency_bucket, tryon_record_rollups: metrics rollups
	"settlement.sql",      // tryon_finish: when a tenant is charged
	"expiry.sql",          // tryon_expire: generations past their deadline
	"client_tokens.sql",   // tryon_admit_token, tryon_token_read: client tokens' secrets, end users and caps
	"billing.sql",         // tryon_balance_at, the Stripe meter outbox and its trigger, top-ups
	"params.sql",          // generations.params (a try-on's garments, seed, format), clients.default_service
	"cancel.sql",          // the canceled status, tryon_cancel: POST /generate/:id/cancel
	"retention.sql",       // clients.retention_days, erased-asset tombstones, the Blob deletion queue, tryon_erase
	"generation_rows.sql", // tryon_generation, tryon_refresh, tryon_store_outputs: per-request statements, planned once
}

//go:embed tables.sql outputs.sql ratelimit.sql credits.sql admission.sql rollups.sql settlement.sql expiry.sql client_tokens.sql billing.sql params.sql cancel.sql retention.sql generation_rows.sql
var schemaFS embed.FS

// Schema returns schema.sql as its parts make it.
func Schema() string {
	var b strings.Builder
	b.WriteString("-- Assembled from pkg/postgres/*.sql; edit the parts there (see SchemaParts).\n\n")
	for i, name := range SchemaParts {
		part, err := schemaFS.ReadFile(name)
		if err != nil {
			panic("postgres: schema part missing: " + name)
		}
		if i > 0 {
			b.WriteString("\n-- " + name + " " + strings.Repeat("-", 76-len(name)) + "\n\n")
		}
		b.Write(part)
	}
	return b.String()
}

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
// applying it to an up-to-date database changes nothing; it is applied one
// statement at a time so that it is safe while traffic flows (migrate.go).
func ApplySchema(ctx context.Context, conn *pgx.Conn, path string) error {
	sql, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	return applyStatements(ctx, conn, string(sql))
}
