package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// openStore connects to DATABASE_URL for the management commands.
func openStore(e env) (*postgres.Store, error) {
	url := e.get("DATABASE_URL")
	if url == "" {
		return nil, errors.New("DATABASE_URL is not set: point it at the database (for tryon dev, copy the one it prints)")
	}
	pool, err := postgres.OpenPool(url, postgres.PoolOptions{MaxConns: 4})
	if err != nil {
		return nil, err
	}
	return postgres.NewStore(pool), nil
}

// migrate applies schema.sql over a single direct connection.
func migrate(ctx context.Context, url string) error {
	path, err := postgres.FindSchema()
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	return postgres.ApplySchema(ctx, conn, path)
}

func runMigrate(ctx context.Context, e env, args []string) error {
	if len(args) > 0 {
		return usageError{"migrate takes no arguments"}
	}
	url := e.get("DATABASE_URL")
	if url == "" {
		return errors.New("DATABASE_URL is not set (use Neon's direct URL, not the -pooler one)")
	}
	if err := migrate(ctx, url); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "schema applied")
	return nil
}

// findClient resolves a client by id or name.
func findClient(ctx context.Context, s *postgres.Store, ref string) (*tryon.Client, error) {
	if id, err := uuid.Parse(ref); err == nil {
		return s.FindClient(ctx, id)
	}
	c, err := s.FindClientByName(ctx, ref)
	if errors.Is(err, tryon.ErrNotFound) {
		return nil, fmt.Errorf("no client %q", ref)
	}
	return c, err
}
