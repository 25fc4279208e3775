package tryon

import (
	"time"

	"github.com/google/uuid"
)

// ClientStatus says whether a tenant may use the API.
type ClientStatus string

// Tenant states. A suspended tenant's keys authenticate but every request is
// refused with 403, so the tenant learns why.
const (
	ClientActive    ClientStatus = "active"
	ClientSuspended ClientStatus = "suspended"
)

// Client is a tenant: a shop or app that calls the API and pays per request.
type Client struct {
	ID     uuid.UUID
	Name   string
	Status ClientStatus
	// Prices overrides the configured default price of a service.
	Prices map[Service]Micros
	// BalanceMicros is the prepaid balance; nil for a postpaid tenant, who is
	// never refused for money.
	BalanceMicros *Micros
	// ReservedMicros is held by live generations in flight (derived, read-only).
	ReservedMicros    Micros
	RequestsPerMinute int
	MaxConcurrent     int
	// DefaultService is the service of the tenant's requests that name
	// none; empty means banana.
	DefaultService Service
	WebhookURL     string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// KeyKind is what an API key may do.
type KeyKind string

// Key kinds, which are also the key prefixes' middle part (tryon_live_...).
const (
	KeyLive  KeyKind = "live"
	KeyTest  KeyKind = "test"
	KeyAdmin KeyKind = "admin"
)

// Valid reports whether k is a known key kind.
func (k KeyKind) Valid() bool { return k == KeyLive || k == KeyTest || k == KeyAdmin }

// Mode returns the generation mode of a tenant key.
func (k KeyKind) Mode() Mode {
	if k == KeyTest {
		return ModeTest
	}
	return ModeLive
}

// APIKey is a stored key. The secret itself is never stored, only its SHA-256
// digest; Prefix is a short, safe-to-show beginning for listings.
type APIKey struct {
	ID         uuid.UUID
	ClientID   *uuid.UUID // nil for admin keys
	Kind       KeyKind
	Name       string
	Prefix     string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
}

// Principal is who is calling: the key that authenticated the request and,
// for tenant keys, its tenant.
type Principal struct {
	Key    APIKey
	Client *Client // nil for admin keys
	// Token is the client token the request was made with (Key is then its
	// tenant's client-token key of the token's mode); nil for API keys.
	Token *ClientToken
}

// IsAdmin reports whether the caller holds an operator key.
func (p *Principal) IsAdmin() bool { return p.Key.Kind == KeyAdmin }

// ClientID returns the caller's tenant id, or uuid.Nil for admins.
func (p *Principal) ClientID() uuid.UUID {
	if p.Client == nil {
		return uuid.Nil
	}
	return p.Client.ID
}

// RequestsPerMinute is the caller's rate limit: its tenant's, or the fixed
// limit of operator keys.
func (p *Principal) RequestsPerMinute() int {
	if p.Client == nil {
		return AdminRequestsPerMinute
	}
	return p.Client.RequestsPerMinute
}
