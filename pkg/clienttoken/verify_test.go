package clienttoken_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/clienttoken"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// secrets is an in-memory store of signing secrets: the lookup's contract
// is small enough that the verifier's logic is tested without a database
// here (the HTTP tests run it against Postgres).
type secrets struct {
	tenant  uuid.UUID
	byVer   map[int]*clienttoken.Signer
	lookups atomic.Int64
}

func (s *secrets) lookup(_ context.Context, tenant uuid.UUID, version int) (*clienttoken.Signer, error) {
	s.lookups.Add(1)
	if sg, ok := s.byVer[version]; ok && tenant == s.tenant {
		return sg, nil
	}
	return nil, tryon.ErrNotFound
}

func newSecrets(t *testing.T) *secrets {
	tenant := uuid.New()
	client := &tryon.Client{ID: tenant, Status: tryon.ClientActive, RequestsPerMinute: 60, MaxConcurrent: 4}
	keys := map[tryon.Mode]tryon.APIKey{tryon.ModeLive: {ID: uuid.New(), Kind: tryon.KeyLive}, tryon.ModeTest: {ID: uuid.New(), Kind: tryon.KeyTest}}
	s := &secrets{tenant: tenant, byVer: map[int]*clienttoken.Signer{}}
	for v := 1; v <= 2; v++ {
		secret, err := clienttoken.NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		s.byVer[v] = &clienttoken.Signer{Secret: secret, Client: client, Keys: keys}
	}
	return s
}

func claimsAt(tenant uuid.UUID, now time.Time) clienttoken.Claims {
	return clienttoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: tenant.String(), Subject: "alice", ID: "t1",
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute))},
		Mode: tryon.ModeLive, Origins: []string{"https://shop.example"}, Scope: "generate read",
	}
}

func TestVerify(t *testing.T) {
	s := newSecrets(t)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clock := now
	v := &clienttoken.Verifier{TTL: time.Minute, Lookup: s.lookup, Now: func() time.Time { return clock }}
	ctx := context.Background()
	tok, err := clienttoken.Mint(s.byVer[1].Secret, 1, claimsAt(s.tenant, now))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Valid", func(t *testing.T) {
		p, err := v.Verify(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if p.Token.EndUser != "alice" || p.Token.Version != 1 || p.Key.Kind != tryon.KeyLive || p.Client.ID != s.tenant ||
			!p.Token.Allows(tryon.ScopeRead) || !p.Token.AllowsOrigin("https://shop.example") || p.Token.AllowsOrigin("https://shop.example/") {
			t.Fatalf("got %+v %+v", p, p.Token)
		}
	})
	t.Run("Cached", func(t *testing.T) {
		before := s.lookups.Load()
		for range 5 {
			if _, err := v.Verify(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		if got := s.lookups.Load() - before; got != 0 {
			t.Fatalf("%d lookups for a cached secret, want 0", got)
		}
	})
	t.Run("ExpiresAfterLeeway", func(t *testing.T) {
		clock = now.Add(15*time.Minute + clienttoken.Leeway - time.Second)
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("within the leeway: %v", err)
		}
		clock = now.Add(15*time.Minute + clienttoken.Leeway + time.Second)
		if _, err := v.Verify(ctx, tok); !errors.Is(err, clienttoken.ErrExpired) {
			t.Fatalf("got %v, want ErrExpired", err)
		}
		clock = now
	})
	t.Run("ExpiredButForgedIsInvalid", func(t *testing.T) {
		forged, _ := clienttoken.Mint("not the secret", 1, claimsAt(s.tenant, now.Add(-time.Hour)))
		if _, err := v.Verify(ctx, forged); !errors.Is(err, clienttoken.ErrInvalid) {
			t.Fatalf("got %v, want ErrInvalid (an unverified token says nothing about expiry)", err)
		}
	})
	t.Run("RotatedOutAfterGrace", func(t *testing.T) {
		fresh := &clienttoken.Verifier{TTL: time.Minute, Lookup: s.lookup, Now: func() time.Time { return clock }}
		end := now.Add(10 * time.Minute)
		s.byVer[1].ValidUntil = &end
		defer func() { s.byVer[1].ValidUntil = nil }()
		clock = end.Add(-time.Second)
		if _, err := fresh.Verify(ctx, tok); err != nil {
			t.Fatalf("within the grace period: %v", err)
		}
		clock = end
		if _, err := fresh.Verify(ctx, tok); !errors.Is(err, clienttoken.ErrInvalid) {
			t.Fatalf("after the grace period: got %v, want ErrInvalid", err)
		}
		clock = now
	})
	t.Run("OtherVersionSignsToo", func(t *testing.T) {
		tok2, _ := clienttoken.Mint(s.byVer[2].Secret, 2, claimsAt(s.tenant, now))
		if _, err := v.Verify(ctx, tok2); err != nil {
			t.Fatal(err)
		}
		// Version 2's secret under kid 1 is not accepted.
		wrongKid, _ := clienttoken.Mint(s.byVer[2].Secret, 1, claimsAt(s.tenant, now))
		if _, err := v.Verify(ctx, wrongKid); !errors.Is(err, clienttoken.ErrInvalid) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("AlgorithmPinned", func(t *testing.T) {
		for _, m := range []jwt.SigningMethod{jwt.SigningMethodHS384, jwt.SigningMethodHS512, jwt.SigningMethodNone} {
			tk := jwt.NewWithClaims(m, claimsAt(s.tenant, now))
			tk.Header["kid"] = "1"
			var key any = []byte(s.byVer[1].Secret)
			if m == jwt.SigningMethodNone {
				key = jwt.UnsafeAllowNoneSignatureType
			}
			raw, err := tk.SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(ctx, raw); !errors.Is(err, clienttoken.ErrInvalid) {
				t.Fatalf("%s: got %v, want ErrInvalid", m.Alg(), err)
			}
		}
	})
	t.Run("ClaimsChecked", func(t *testing.T) {
		for name, mutate := range map[string]func(*clienttoken.Claims){
			"no jti":       func(c *clienttoken.Claims) { c.ID = "" },
			"bad mode":     func(c *clienttoken.Claims) { c.Mode = "admin" },
			"no origins":   func(c *clienttoken.Claims) { c.Origins = nil },
			"bad scope":    func(c *clienttoken.Claims) { c.Scope = "generate admin" },
			"no iat":       func(c *clienttoken.Claims) { c.IssuedAt = nil },
			"two hours":    func(c *clienttoken.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(2 * time.Hour)) },
			"zero cap":     func(c *clienttoken.Claims) { z := int64(0); c.MaxGenerations = &z },
			"future iat":   func(c *clienttoken.Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) },
			"no exp":       func(c *clienttoken.Claims) { c.ExpiresAt = nil },
			"other tenant": func(c *clienttoken.Claims) { c.Issuer = uuid.NewString() },
		} {
			c := claimsAt(s.tenant, now)
			mutate(&c)
			raw, _ := clienttoken.Mint(s.byVer[1].Secret, 1, c)
			_, err := v.Verify(ctx, raw)
			var te *tryon.Error
			if !errors.As(err, &te) || te.Code != tryon.CodeUnauthorized || !strings.Contains(te.Message, "invalid client token") {
				t.Errorf("%s: got %v, want 401 invalid client token", name, err)
			}
		}
	})
	t.Run("SuspendedTenant", func(t *testing.T) {
		suspended := newSecrets(t)
		suspended.byVer[1].Client.Status = tryon.ClientSuspended
		vs := &clienttoken.Verifier{TTL: time.Minute, Lookup: suspended.lookup, Now: func() time.Time { return now }}
		raw, _ := clienttoken.Mint(suspended.byVer[1].Secret, 1, claimsAt(suspended.tenant, now))
		if _, err := vs.Verify(ctx, raw); !errors.Is(err, tryon.ErrSuspended) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("LookupFailureIsNotTheCallers", func(t *testing.T) {
		down := errors.New("database down")
		vd := &clienttoken.Verifier{TTL: time.Minute, Now: func() time.Time { return now },
			Lookup: func(context.Context, uuid.UUID, int) (*clienttoken.Signer, error) { return nil, down }}
		if _, err := vd.Verify(ctx, tok); !errors.Is(err, down) {
			t.Fatalf("got %v, want the lookup's error", err)
		}
	})
}

func TestLooksLikeJWT(t *testing.T) {
	for s, want := range map[string]bool{
		"eyJhbGciOiJIUzI1NiJ9.e30.sig": true,
		"tryon_live_abc":               false,
		"eyJhbGciOiJIUzI1NiJ9.e30":     false,
		"":                             false,
	} {
		if got := clienttoken.LooksLikeJWT(s); got != want {
			t.Errorf("LooksLikeJWT(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestCheckOrigins(t *testing.T) {
	for o, ok := range map[string]bool{
		"https://shop.example":       true,
		"https://shop.example:8443":  true,
		"http://localhost:5173":      true,
		"http://127.0.0.1:3000":      true,
		"http://localhost":           true,
		"http://shop.example":        false,
		"https://shop.example/":      false,
		"https://shop.example/path":  false,
		"https://Shop.example":       false,
		"shop.example":               false,
		"https://user@shop.example":  false,
		"ftp://shop.example":         false,
		"https://shop.example?x=1":   false,
		"https://shop.example#frag":  false,
		"javascript:alert(1)":        false,
		"http://localhost.evil.test": false,
	} {
		if got := clienttoken.CheckOrigins([]string{o}) == ""; got != ok {
			t.Errorf("%q: accepted %v, want %v (%s)", o, got, ok, clienttoken.CheckOrigins([]string{o}))
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("eyJhbGciOiJIUzI1NiJ9.e30.x")
	f.Add("eyJhbGciOiJub25lIiwia2lkIjoiMSJ9.eyJpc3MiOiIwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDAifQ.")
	s := &secrets{tenant: uuid.Nil, byVer: map[int]*clienttoken.Signer{}}
	v := &clienttoken.Verifier{TTL: time.Minute, Lookup: s.lookup}
	f.Fuzz(func(t *testing.T, raw string) {
		if p, err := v.Verify(context.Background(), raw); err == nil || p != nil {
			t.Fatalf("a token without any secret verified: %v", p)
		}
	})
}

// TestREADMEGoSnippet mints a token the way the README shows a shop's Go
// server doing it (jwt.MapClaims, kid as a string) and verifies it.
func TestREADMEGoSnippet(t *testing.T) {
	s := newSecrets(t)
	v := &clienttoken.Verifier{TTL: time.Minute, Lookup: s.lookup}
	clientID, secret, kid, userID := s.tenant.String(), s.byVer[2].Secret, "2", "customer-42"
	now := time.Now()
	tk := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": clientID, "sub": userID, "mode": "live", "origins": []string{"https://shop.example"},
		"scope": "generate read", "iat": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(), "jti": uuid.NewString(),
	})
	tk.Header["kid"] = kid
	token, err := tk.SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), token)
	if err != nil || p.Token.EndUser != userID || p.Token.Version != 2 {
		t.Fatalf("got %v %v", p, err)
	}
	// A numeric kid names the same version.
	tk.Header["kid"] = 2
	token, _ = tk.SignedString([]byte(secret))
	if _, err := v.Verify(context.Background(), token); err != nil {
		t.Fatalf("numeric kid: %v", err)
	}
}
