// Package wire is the JSON of the public API (docs/API.md): the generation object
// as every route and webhook shows it. Keeping it in one place means a
// generation looks the same in POST /generate, GET /generate/:id, listings,
// metrics and webhook payloads.
package wire

import (
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// Time formats t as RFC 3339 UTC with milliseconds, the API's one time format.
func Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// Output is a stored result.
type Output struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	Bytes       int64  `json:"bytes"`
}

// Error is why a generation failed.
type Error struct {
	Code    tryon.Code `json:"code"`
	Message string     `json:"message"`
}

// Generation is the generation object of docs/API.md. Outputs lists every
// output, Output first (empty until success); NumOutputs is how many were
// asked for.
type Generation struct {
	ID              string            `json:"id"`
	ClientID        string            `json:"client_id"`
	Status          tryon.Status      `json:"status"`
	Mode            tryon.Mode        `json:"mode"`
	Service         tryon.Service     `json:"service"`
	Provider        string            `json:"provider"`
	Model           string            `json:"model"`
	Prompt          string            `json:"prompt"`
	Width           int               `json:"width"`
	Height          int               `json:"height"`
	DurationSeconds *int              `json:"duration_seconds,omitempty"`
	Output          *Output           `json:"output"`
	Outputs         []Output          `json:"outputs"`
	NumOutputs      int               `json:"num_outputs"`
	ImageURL        *string           `json:"image_url"`
	Error           *Error            `json:"error"`
	CostMicros      tryon.Micros      `json:"cost_micros"`
	Cost            float64           `json:"cost"`
	Currency        string            `json:"currency"`
	LatencyMS       *int64            `json:"latency_ms"`
	Metadata        map[string]string `json:"metadata"`
	IdempotencyKey  *string           `json:"idempotency_key"`
	// Params are the try-on and output parameters asked for, when any.
	Params      *tryon.Params `json:"params,omitempty"`
	CreatedAt   string        `json:"created_at"`
	CompletedAt *string       `json:"completed_at"`
	// ExpiresAt is when a succeeded generation's outputs will be deleted
	// (its tenant's retention); ExpiredAt when they were (retention or
	// erasure); ErasedAt when the generation was erased. Each is present
	// only when it applies.
	ExpiresAt *string `json:"expires_at,omitempty"`
	ExpiredAt *string `json:"expired_at,omitempty"`
	ErasedAt  *string `json:"erased_at,omitempty"`
}

// FromGeneration renders g. baseURL makes stored paths (/assets/...)
// absolute; URLs that already are (Vercel Blob) are kept.
func FromGeneration(g *tryon.Generation, baseURL string) Generation {
	w := Generation{
		ID: g.ID.String(), ClientID: g.ClientID.String(), Status: g.Status, Mode: g.Mode,
		Service: g.Service, Provider: g.Provider, Model: g.Model, Prompt: g.Prompt,
		Width: g.Width, Height: g.Height,
		CostMicros: g.CostMicros, Cost: g.CostMicros.Dollars(), Currency: tryon.Currency,
		LatencyMS: g.LatencyMS, Metadata: g.Metadata, IdempotencyKey: g.IdempotencyKey,
		Params: g.Params, CreatedAt: Time(g.CreatedAt),
	}
	if w.Metadata == nil {
		w.Metadata = map[string]string{}
	}
	w.NumOutputs = max(g.NumOutputs, 1)
	w.Outputs = make([]Output, 0, len(g.Outputs))
	for _, o := range g.Outputs {
		w.Outputs = append(w.Outputs, Output{URL: AbsoluteURL(baseURL, o.URL), ContentType: o.ContentType,
			Width: o.Width, Height: o.Height, Bytes: o.Bytes})
	}
	if g.DurationSecs > 0 {
		d := g.DurationSecs
		w.DurationSeconds = &d
	}
	if o := g.Output; o != nil {
		url := AbsoluteURL(baseURL, o.URL)
		w.Output = &Output{URL: url, ContentType: o.ContentType, Width: o.Width, Height: o.Height, Bytes: o.Bytes}
		w.ImageURL = &url
		if len(w.Outputs) == 0 {
			// Generations finished before outputs was recorded have their
			// one output in the output_* columns only.
			w.Outputs = []Output{*w.Output}
		}
	}
	if e := g.Error; e != nil {
		w.Error = &Error{Code: e.Code, Message: e.Message}
	}
	w.CompletedAt = optionalTime(g.CompletedAt)
	w.ExpiresAt, w.ExpiredAt, w.ErasedAt = optionalTime(g.ExpiresAt), optionalTime(g.ExpiredAt), optionalTime(g.ErasedAt)
	return w
}

// optionalTime renders a time that may be absent.
func optionalTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := Time(*t)
	return &s
}

// AbsoluteURL joins a stored path to the base URL; absolute URLs pass through.
func AbsoluteURL(baseURL, u string) string {
	if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") || baseURL == "" {
		return u
	}
	return strings.TrimSuffix(baseURL, "/") + u
}

// Event is a webhook payload, per the Standard Webhooks recommendation of
// {type, timestamp, data}.
type Event struct {
	Type      string     `json:"type"`
	Timestamp string     `json:"timestamp"`
	Data      Generation `json:"data"`
}
