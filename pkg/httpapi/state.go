package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// requestState is what the layers learn about a request as it is served,
// for its headers and its log line.
type requestState struct {
	id        string
	start     time.Time
	route     Route
	timings   *tryon.Timings
	principal *tryon.Principal
	rate      *tryon.RateState
	// credits is the prepaid balance left (nil for postpaid), sent on POST
	// /generate answers; creditsKnown says whether it was looked up.
	credits      *tryon.Micros
	creditsKnown bool
	status       int
	// cause is the real error behind an "internal error" answer, for the log.
	cause error
}

type stateKey struct{}

func stateOf(r *http.Request) *requestState {
	if st, ok := r.Context().Value(stateKey{}).(*requestState); ok {
		return st
	}
	return &requestState{id: newRequestID(), start: time.Now()}
}

func withState(r *http.Request, st *requestState) *http.Request {
	ctx, timings := tryon.WithTimings(r.Context())
	st.timings = timings
	return r.WithContext(context.WithValue(ctx, stateKey{}, st))
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

// serverTiming renders the Server-Timing header: total always, db when the
// database was queried, upstream when a provider was called.
func (st *requestState) serverTiming() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	parts := []string{"total;dur=" + ms(time.Since(st.start))}
	if d, n := st.timings.DB(); n > 0 {
		unit := "round trips"
		if n == 1 {
			unit = "round trip"
		}
		parts = append(parts, fmt.Sprintf("db;dur=%s;desc=\"%d %s\"", ms(d), n, unit))
	}
	if d, n := st.timings.Upstream(); n > 0 {
		parts = append(parts, "upstream;dur="+ms(d))
	}
	return strings.Join(parts, ", ")
}
