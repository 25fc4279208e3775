package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apikey"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

func runKey(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usageError{"key needs a subcommand"}
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("key "+sub, flag.ContinueOnError)
	admin := fs.Bool("admin", false, "an operator key")
	kind := fs.String("kind", "live", "live or test")
	name := fs.String("name", "", "a label for the key")
	expires := fs.Duration("expires", 0, "the key stops working after this long (e.g. 720h)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	s, err := openStore(e)
	if err != nil {
		return err
	}
	defer s.Close()
	switch sub {
	case "create":
		var clientID *uuid.UUID
		k := tryon.KeyKind(*kind)
		switch {
		case *admin && len(pos) == 0:
			k = tryon.KeyAdmin
		case !*admin && len(pos) == 1 && (k == tryon.KeyLive || k == tryon.KeyTest):
			c, err := findClient(ctx, s, pos[0])
			if err != nil {
				return err
			}
			clientID = &c.ID
		default:
			return usageError{"usage: tryon key create <client> [-kind live|test] [-name TEXT] [-expires 720h] | tryon key create -admin"}
		}
		var exp *time.Time
		if *expires > 0 {
			t := time.Now().Add(*expires)
			exp = &t
		}
		key, err := createKey(ctx, s, clientID, k, *name, exp)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s\n", key)
		fmt.Fprintln(e.stderr, "This key is shown once and stored only as a hash: keep it now.")
		return nil
	case "list":
		id := uuid.Nil
		switch {
		case *admin && len(pos) == 0:
		case !*admin && len(pos) == 1:
			c, err := findClient(ctx, s, pos[0])
			if err != nil {
				return err
			}
			id = c.ID
		default:
			return usageError{"usage: tryon key list <client> | tryon key list -admin"}
		}
		keys, err := s.ListKeys(ctx, id)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPREFIX\tKIND\tNAME\tCREATED\tLAST USED\tEXPIRES\tREVOKED")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Kind, k.Name, day(&k.CreatedAt), day(k.LastUsedAt), day(k.ExpiresAt), day(k.RevokedAt))
		}
		return tw.Flush()
	case "revoke":
		if len(pos) != 1 {
			return usageError{"usage: tryon key revoke <key id, the key, or a prefix of it>"}
		}
		k, err := s.RevokeKey(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("revoke %s: %w", pos[0], err)
		}
		fmt.Fprintf(e.stdout, "revoked %s (%s…); running instances stop accepting it within KEY_CACHE_TTL\n", k.ID, k.Prefix)
		return nil
	}
	return usageError{fmt.Sprintf("unknown key subcommand %q", sub)}
}

// createKey makes a new key, stores its digest and returns the key itself.
func createKey(ctx context.Context, s *postgres.Store, clientID *uuid.UUID, kind tryon.KeyKind, name string, expires *time.Time) (string, error) {
	k, err := apikey.New(kind)
	if err != nil {
		return "", err
	}
	if _, err := s.CreateKey(ctx, clientID, k, name, expires); err != nil {
		return "", err
	}
	return k.Secret, nil
}

func day(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}
