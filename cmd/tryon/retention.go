package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/blob"
	"github.com/tryonhq/tryon/pkg/generation"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// runRetention serves `client set-retention` and `client erase`.
func runRetention(ctx context.Context, e env, sub string, args []string) error {
	fs := flag.NewFlagSet("client "+sub, flag.ContinueOnError)
	reason := fs.String("reason", "", "why (recorded in the client's ledger)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case sub == "set-retention" && len(pos) != 2:
		return usageError{"usage: tryon client set-retention <client> <days> [-reason TEXT]"}
	case sub == "erase" && len(pos) != 1:
		return usageError{"usage: tryon client erase <client>"}
	}
	var days int
	if sub == "set-retention" {
		days, err = strconv.Atoi(pos[1])
		if err != nil || days < tryon.MinRetentionDays || days > tryon.MaxRetentionDays {
			return usageError{fmt.Sprintf("days must be a whole number from %d to %d", tryon.MinRetentionDays, tryon.MaxRetentionDays)}
		}
	}
	s, err := openStore(e)
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := findClient(ctx, s, pos[0])
	if err != nil {
		return err
	}
	if sub == "set-retention" {
		if *reason == "" {
			*reason = fmt.Sprintf("retention set to %d days", days)
		}
		if err := s.SetRetention(ctx, c.ID, days, *reason); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: outputs are kept %d days after completion; older ones go with the next cron sweep\n", c.Name, days)
		return nil
	}
	return eraseClient(ctx, e, s, c)
}

// eraseClient erases a tenant's generations and reports what it did. Blob
// is reached with the deployment's BLOB_READ_WRITE_TOKEN (and
// VERCEL_BLOB_API_URL), when set.
func eraseClient(ctx context.Context, e env, s *postgres.Store, c *tryon.Client) error {
	eraser := &generation.Eraser{Store: s, Log: slog.New(slog.NewTextHandler(e.stderr, nil))}
	if token := e.get("BLOB_READ_WRITE_TOKEN"); token != "" {
		b, err := blob.New(blob.Config{Token: token, APIURL: e.get("VERCEL_BLOB_API_URL")})
		if err != nil {
			return err
		}
		eraser.Blobs = b
	}
	res, err := eraser.EraseClient(ctx, c.ID)
	if err != nil {
		return err
	}
	id := c.ID
	pending, err := s.PendingBlobDeletions(ctx, &id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: erased %d generations (outputs, prompts, metadata); billing records kept\n", c.Name, res.Erased)
	fmt.Fprintf(e.stdout, "blob outputs deleted: %d\n", res.BlobsDeleted)
	if pending > 0 {
		why := "Blob did not confirm; the cron sweep retries"
		if eraser.Blobs == nil {
			why = "set BLOB_READ_WRITE_TOKEN to delete them now, or leave them to the deployment's cron sweep"
		}
		fmt.Fprintf(e.stdout, "blob outputs still queued for deletion: %d (%s)\n", pending, why)
	}
	if res.Processing > 0 {
		fmt.Fprintf(e.stdout, "still processing, not erased: %d (run the command again once they finish)\n", res.Processing)
	}
	return nil
}

// printRetention shows the tenant's retention with its other settings.
func printRetention(ctx context.Context, e env, s *postgres.Store, id uuid.UUID) error {
	days, err := s.RetentionDays(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "retention:  outputs kept %d days after completion\n", days)
	return nil
}
