package httpapi

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Rate accounting: every authenticated request counts once against its
// key's limit (the algorithm is tryon_hit_rate in pkg/postgres/ratelimit.sql),
// and every answer to it says where the key stands (RateLimit,
// RateLimit-Policy) and, on POST /generate, what a prepaid tenant has left
// (X-Credits-Remaining).
//
// A request that reaches the store is counted there, in the same round trip
// as its read or its admission, and the store hands back the verdict with
// the read: a refused request is the rate limit's error, so no handler
// checks the limit itself. A handler records what the store said in
// requestState.rate. A request that ends before it reaches the store (a bad
// body, a broken input image, a malformed id) is counted here, by the
// request wrapper, just before its answer's headers go out.

// RateAccounts is what rate accounting needs from the database.
type RateAccounts interface {
	// HitRate counts one request against a key's rate limit and returns the
	// key's tenant's unreserved prepaid balance (nil when postpaid).
	HitRate(ctx context.Context, p *tryon.Principal) (tryon.RateState, *tryon.Micros, error)
	// Credits returns a tenant's unreserved prepaid balance, nil when postpaid.
	Credits(ctx context.Context, clientID uuid.UUID) (*tryon.Micros, error)
}

// account counts an authenticated request the store has not counted, and
// looks up the credits of a POST /generate answer that does not know them.
// A failed lookup leaves the headers out rather than make them up.
func (s *Server) account(ctx context.Context, st *requestState) {
	p := st.principal
	if p == nil || s.store == nil {
		return
	}
	wantCredits := st.route.Function == "generate" && !st.creditsKnown && p.Client != nil
	switch {
	case st.rate == nil:
		rate, credits, err := s.store.HitRate(ctx, p)
		if err != nil {
			return
		}
		st.rate = &rate
		if wantCredits {
			st.credits, st.creditsKnown = credits, true
		}
	case wantCredits:
		if c, err := s.store.Credits(ctx, p.Client.ID); err == nil {
			st.credits, st.creditsKnown = c, true
		}
	}
}

// setLimitHeaders writes what accounting learned into the answer's headers.
func setLimitHeaders(h http.Header, st *requestState) {
	if rt := st.rate; rt != nil {
		h.Set("RateLimit-Policy", fmt.Sprintf(`"minute";q=%d;w=60`, rt.Limit))
		h.Set("RateLimit", fmt.Sprintf(`"minute";r=%d;t=%d`, rt.Remaining, max(0, int(math.Ceil(time.Until(rt.Reset).Seconds())))))
	}
	if c := st.credits; c != nil {
		h.Set("X-Credits-Remaining", strconv.FormatInt(int64(*c), 10))
	}
}
