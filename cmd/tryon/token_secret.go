package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/tryonhq/tryon/pkg/clienttoken"
)

// defaultTokenGrace is how long tokens signed with a rotated-out secret keep
// working: long enough for a tenant to deploy the new secret to its servers
// and for most tokens already handed out (15 minutes by default) to end.
const defaultTokenGrace = 15 * time.Minute

// runTokenSecret serves `tryon client token-secret rotate <client>`: it
// makes a new client-token signing secret, prints it once (it is stored
// for verification, but no command shows it again), and ends the older
// secrets after the grace period.
func runTokenSecret(ctx context.Context, e env, args []string) error {
	const form = "usage: tryon client token-secret rotate <client> [-grace 15m]"
	if len(args) == 0 || args[0] != "rotate" {
		return usageError{form}
	}
	fs := flag.NewFlagSet("client token-secret rotate", flag.ContinueOnError)
	grace := fs.Duration("grace", defaultTokenGrace, "how long tokens signed with the previous secrets keep working (0: end them now)")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{form}
	}
	if *grace < 0 || *grace > 24*time.Hour {
		return usageError{"-grace must be from 0 to 24h"}
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
	secret, err := clienttoken.NewSecret()
	if err != nil {
		return err
	}
	version, err := s.RotateTokenSecret(ctx, c.ID, secret, *grace)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, `client-token signing secret for %s (shown once; keep it on your servers only):

  secret:  %s
  kid:     %d
  iss:     %s

Sign HS256 JWTs with it: header kid %q, claims iss %q, sub (your end user's id),
mode ("live" or "test"), origins, scope ("generate read"), iat, exp (at most 1 hour later), jti.
Tokens signed with earlier secrets stop working at %s.
`, c.Name, secret, version, c.ID, fmt.Sprint(version), c.ID, time.Now().Add(*grace).UTC().Format(time.RFC3339))
	return nil
}
