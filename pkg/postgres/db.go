// Package postgres is Tryon's store: tenants, keys, generations, billing,
// limits, assets, webhooks and metrics in PostgreSQL (Neon in production).
//
// It talks to the rest of the module only in domain types: pgx errors are
// turned into tryon errors here (see errors.go), and callers never see a
// driver error. Every method does its work in as few round trips as it can
// (one, for everything on a request's hot path) and never holds a connection
// between calls, so no connection is held while a provider works.
//
// It implements the interfaces its callers declare (generation.Store,
// generation.DeliveryStore, httpapi.Store). Files are named by subject, and
// each PL/pgSQL function sits in a .sql file beside the Go that calls it:
// admission, settlement (when a tenant is charged), ratelimit, credits,
// expiry, rollups; tables.sql holds the tables. schema.go assembles them
// into the root schema.sql.
package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tryonhq/tryon/pkg/telemetry"
)

// PoolOptions size the connection pool.
type PoolOptions struct {
	// MaxConns bounds the pool. Serverless instances each get their own pool,
	// so it stays small (2 to 4) to spare the database's connection limit.
	MaxConns int32
	// ConnectTimeout bounds dialling a new connection (default 5s).
	ConnectTimeout time.Duration
}

// OpenPool creates a pool for url. It does not connect: connections are made
// on first use, so a cold function instance pays for exactly the connections
// it needs.
//
// Statements use pgx's cache_describe mode unless the URL names another
// default_query_exec_mode: it caches statement descriptions, not prepared
// statements, which is safe behind Neon's PgBouncer pooler in transaction
// mode, where consecutive statements may reach different server connections.
func OpenPool(url string, opts PoolOptions) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, fmt.Errorf("postgres: the database URL is not valid")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = time.Minute
	cfg.MaxConnLifetime = 30 * time.Minute
	cfg.HealthCheckPeriod = time.Minute
	if !strings.Contains(url, "default_query_exec_mode") {
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
		if cfg.ConnConfig.ConnectTimeout == 0 {
			cfg.ConnConfig.ConnectTimeout = 5 * time.Second
		}
	}
	cfg.ConnConfig.Tracer = telemetry.PgxTracer{Next: tracer{}}
	cfg.PrepareConn = startOpClock
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool: %w", err)
	}
	return pool, nil
}

// Store is the database behind the API. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	// opTimeout bounds each call once it holds a connection, so a stalled
	// database fails a request with "unavailable" instead of hanging it
	// until the platform kills it. acquireLimit bounds the wait for a
	// pooled connection, which under load is a queue, not an outage
	// (opclock.go).
	opTimeout    time.Duration
	acquireLimit time.Duration
	now          func() time.Time
}

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, opTimeout: 10 * time.Second, acquireLimit: 60 * time.Second, now: time.Now}
}

// SetTimeouts changes how long a call may run once it holds a connection
// (statement) and how long it may wait for one (acquire); zero keeps a
// value. For tests and tools that need a tight limit.
func (s *Store) SetTimeouts(statement, acquire time.Duration) {
	if statement > 0 {
		s.opTimeout = statement
	}
	if acquire > 0 {
		s.acquireLimit = acquire
	}
}

// Pool returns the underlying pool, for tools (migrations, benchmarks).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

func (s *Store) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return newOpClock(ctx, s.opTimeout, s.acquireLimit)
}

// Ping checks that the database answers within timeout.
func (s *Store) Ping(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var one int
	// The simple protocol makes it one round trip even on a new connection,
	// which would otherwise describe the statement first.
	if err := s.pool.QueryRow(ctx, "SELECT 1", pgx.QueryExecModeSimpleProtocol).Scan(&one); err != nil {
		return translate(err, "ping")
	}
	return nil
}
