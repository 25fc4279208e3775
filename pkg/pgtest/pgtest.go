// Package pgtest gives tests a fresh, migrated database on a real PostgreSQL
// server: a throwaway cluster started once per test binary from the machine's
// binaries, or the server at TEST_DATABASE_URL. Each call gets its own
// database cloned from a migrated template, so tests run in parallel without
// seeing each other's rows.
//
// A package that uses it needs
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// so that the cluster is stopped and its folder removed when the tests end.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/pgcluster"
	"github.com/tryonhq/tryon/pkg/postgres"
)

var (
	once      sync.Once
	serverURL string
	template  string
	setupErr  error
	cluster   *pgcluster.Cluster
	counter   atomic.Int64
)

// Main runs the tests and then stops the throwaway cluster, if one was started.
func Main(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		cluster.Stop()
	}
	os.Exit(code)
}

func setup() {
	ctx := context.Background()
	serverURL = os.Getenv("TEST_DATABASE_URL")
	if serverURL == "" {
		cluster, setupErr = pgcluster.Start(ctx, pgcluster.Options{})
		if setupErr != nil {
			return
		}
		serverURL = cluster.URL
	}
	template = fmt.Sprintf("tryon_template_%d", os.Getpid())
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		setupErr = fmt.Errorf("pgtest: connect to %s: %w", redact(serverURL), err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+template); err != nil {
		setupErr = fmt.Errorf("pgtest: create template: %w", err)
		return
	}
	tconn, err := pgx.Connect(ctx, withDatabase(serverURL, template))
	if err != nil {
		setupErr = err
		return
	}
	defer tconn.Close(ctx)
	path, err := postgres.FindSchema()
	if err != nil {
		setupErr = err
		return
	}
	setupErr = postgres.ApplySchema(ctx, tconn, path)
}

// URL returns the URL of a new, migrated, empty database for this test. It
// fails the test (never skips it) when PostgreSQL is missing, saying how to
// install it.
func URL(tb testing.TB) string {
	tb.Helper()
	once.Do(setup)
	if setupErr != nil {
		tb.Fatalf("pgtest: no PostgreSQL for tests: %v", setupErr)
	}
	ctx := context.Background()
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), counter.Add(1))
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template)); err != nil {
		tb.Fatal(err)
	}
	if os.Getenv("TEST_DATABASE_URL") != "" {
		tb.Cleanup(func() {
			c, err := pgx.Connect(ctx, serverURL)
			if err == nil {
				_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
				c.Close(ctx)
			}
		})
	}
	return withDatabase(serverURL, name)
}

// NewStore returns a Store on a new, migrated, empty database, closed when
// the test ends.
func NewStore(tb testing.TB) *postgres.Store {
	tb.Helper()
	pool, err := postgres.OpenPool(URL(tb), postgres.PoolOptions{MaxConns: 16})
	if err != nil {
		tb.Fatal(err)
	}
	s := postgres.NewStore(pool)
	tb.Cleanup(s.Close)
	return s
}

func withDatabase(raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + db
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the test database"
	}
	return u.Redacted()
}
