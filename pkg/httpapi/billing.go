package httpapi

import (
	"context"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/billing"
	"github.com/tryonhq/tryon/pkg/generation"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Billing is what the billing routes serve with. Meter and Topups are nil
// when Stripe is not configured.
type Billing struct {
	Statements *billing.Statements
	Meter      *billing.Meter
	Topups     *billing.Topups
}

// BillingStore is what the billing routes ask of the database itself;
// statements, the meter and top-ups go through Billing's services.
type BillingStore interface {
	// FindClient returns a tenant, for the balance a top-up is checked against.
	FindClient(ctx context.Context, id uuid.UUID) (*tryon.Client, error)
	// MeterOutbox counts the Stripe meter events not yet sent.
	MeterOutbox(ctx context.Context) (*billing.MeterOutbox, error)
}

// WithBilling gives the server its billing services.
func (s *Server) WithBilling(b Billing) *Server {
	s.billing = b
	return s
}

// hitRate counts a billing request against the key's rate limit and refuses
// it when the key is over: billing reads are reads like any other.
func (s *Server) hitRate(r *http.Request) error {
	st := stateOf(r)
	rate, _, err := s.store.HitRate(context.WithoutCancel(r.Context()), st.principal)
	if err != nil {
		return err
	}
	st.rate = &rate
	return rate.Verdict()
}

// handleStatement serves GET /billing/statement?month=YYYY-MM: a tenant key
// reads its own, an admin key any tenant's with client_id. format=csv (or
// Accept: text/csv) exports every billable generation of the month instead.
func (s *Server) handleStatement(w http.ResponseWriter, r *http.Request) {
	st := stateOf(r)
	q := r.URL.Query()
	var details []tryon.FieldError
	month, err := billing.ParseMonth(q.Get("month"))
	if err != nil {
		details = append(details, tryon.FieldError{Field: "month", Message: "must be a month as YYYY-MM, e.g. 2026-11"})
	}
	clientID := st.principal.ClientID()
	switch v := q.Get("client_id"); {
	case st.principal.IsAdmin() && v == "":
		details = append(details, tryon.FieldError{Field: "client_id", Message: "is required with an admin key"})
	case v != "":
		id, err := uuid.Parse(v)
		if err != nil || id == uuid.Nil || (!st.principal.IsAdmin() && id != clientID) {
			// Any other tenant is not found, so a tenant learns nothing
			// about who else exists.
			s.writeError(w, r, tryon.ErrNotFound, nil)
			return
		}
		clientID = id
	}
	csvWanted := false
	switch f := q.Get("format"); f {
	case "csv":
		csvWanted = true
	case "json":
	case "":
		csvWanted = acceptsCSV(r)
	default:
		details = append(details, tryon.FieldError{Field: "format", Message: "must be json or csv"})
	}
	if len(details) > 0 {
		s.writeError(w, r, tryon.Invalid(details...), nil)
		return
	}
	if err := s.hitRate(r); err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	ctx := context.WithoutCancel(r.Context())
	stmt, err := s.billing.Statements.Statement(ctx, clientID, month)
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	if !csvWanted {
		s.writeData(w, r, http.StatusOK, statementOf(stmt))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="tryon-`+clientID.String()+`-`+month.String()+`.csv"`)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if err := s.billing.Statements.WriteCSV(ctx, w, clientID, month); err != nil {
		// The status is sent: a cut export is all that can be signalled.
		st.cause = err
	}
}

func acceptsCSV(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" {
				return true
			}
		}
	}
	return false
}

// topupRequest is POST /billing/topup's body.
type topupRequest struct {
	AmountMicros int64  `json:"amount_micros"`
	SuccessURL   string `json:"success_url,omitempty"`
	CancelURL    string `json:"cancel_url,omitempty"`
}

// topupData is POST /billing/topup's answer.
type topupData struct {
	CheckoutSessionID string `json:"checkout_session_id"`
	URL               string `json:"url"`
	AmountMicros      int64  `json:"amount_micros"`
	Currency          string `json:"currency"`
}

// handleTopup serves POST /billing/topup: it creates the Stripe Checkout
// session a prepaid tenant pays a top-up with, and returns its URL.
func (s *Server) handleTopup(w http.ResponseWriter, r *http.Request) {
	st := stateOf(r)
	var req topupRequest
	if _, err := decode(r, &req); err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	key, err := idempotencyKey(r)
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	var details []tryon.FieldError
	for field, u := range map[string]string{"success_url": req.SuccessURL, "cancel_url": req.CancelURL} {
		if u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			details = append(details, tryon.FieldError{Field: field, Message: "must be an absolute http(s) URL"})
		}
	}
	if len(details) > 0 {
		s.writeError(w, r, tryon.Invalid(details...), nil)
		return
	}
	if s.billing.Topups == nil {
		s.writeError(w, r, tryon.Errorf(tryon.CodeNotFound, "top-ups are not enabled on this deployment"), nil)
		return
	}
	if st.principal.Key.Kind != tryon.KeyLive {
		// Test keys never touch money.
		s.writeError(w, r, tryon.Errorf(tryon.CodeForbidden, "top-ups need a live key"), nil)
		return
	}
	if err := s.hitRate(r); err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	if req.SuccessURL == "" {
		req.SuccessURL = s.baseURL(r) + "/?topup=success"
	}
	if req.CancelURL == "" {
		req.CancelURL = s.baseURL(r) + "/?topup=cancelled"
	}
	ctx := context.WithoutCancel(r.Context())
	c, err := s.store.FindClient(ctx, st.principal.ClientID())
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	co, replayed, err := s.billing.Topups.Start(ctx, c, billing.TopupRequest{AmountMicros: tryon.Micros(req.AmountMicros),
		SuccessURL: req.SuccessURL, CancelURL: req.CancelURL, IdempotencyKey: key})
	if err != nil {
		s.writeError(w, r, stripeFailure(err), nil)
		return
	}
	status := http.StatusCreated
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		status = http.StatusOK
	}
	s.writeData(w, r, status, topupData{CheckoutSessionID: co.SessionID, URL: co.URL, AmountMicros: req.AmountMicros, Currency: tryon.Currency})
}

// stripeFailure turns a failed call to Stripe into upstream_error; our own
// refusals pass through.
func stripeFailure(err error) error {
	if _, ok := err.(*tryon.Error); ok {
		return err
	}
	return &tryon.Error{Code: tryon.CodeUpstreamError, Message: "Stripe did not create the checkout session", Cause: err}
}

// MaxStripeWebhookBytes bounds a Stripe webhook's body: events are a few
// kilobytes; Stripe documents no limit, this leaves ample room.
const MaxStripeWebhookBytes = 1 << 20

// stripeWebhookData is POST /stripe/webhook's answer.
type stripeWebhookData struct {
	Outcome string `json:"outcome"`
}

// handleStripeWebhook serves POST /stripe/webhook: Stripe's signed events.
// The raw body is read first, since the signature covers its exact bytes.
func (s *Server) handleStripeWebhook(w http.ResponseWriter, r *http.Request) {
	if s.billing.Topups == nil {
		s.writeError(w, r, tryon.Errorf(tryon.CodeNotFound, "Stripe is not enabled on this deployment"), nil)
		return
	}
	if r.ContentLength > MaxStripeWebhookBytes {
		s.writeError(w, r, errTooLarge, nil)
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, MaxStripeWebhookBytes+1))
	if err != nil {
		s.writeError(w, r, tryon.Errorf(tryon.CodeInvalidRequest, "the request body could not be read"), nil)
		return
	}
	if len(payload) > MaxStripeWebhookBytes {
		s.writeError(w, r, errTooLarge, nil)
		return
	}
	outcome, err := s.billing.Topups.HandleWebhook(context.WithoutCancel(r.Context()), payload, r.Header.Get("Stripe-Signature"))
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	s.writeData(w, r, http.StatusOK, stripeWebhookData{Outcome: outcome})
}

// cronReport is the sweep's report with the Stripe meter's drain.
type cronReport struct {
	generation.SweepReport
	StripeMeter *billing.DrainReport `json:"stripe_meter,omitempty"`
	// StripeMeterOutbox is what is left unsent after the drain.
	StripeMeterOutbox *billing.MeterOutbox `json:"stripe_meter_outbox,omitempty"`
	// StripeMeterError is why the drain stopped early, if it did.
	StripeMeterError string `json:"stripe_meter_error,omitempty"`
}

// withMeterDrain drains the Stripe meter outbox in what is left of the cron
// function's time, after the sweep.
func (s *Server) withMeterDrain(r *http.Request, rep generation.SweepReport) cronReport {
	out := cronReport{SweepReport: rep}
	if s.billing.Meter == nil {
		return out
	}
	st := stateOf(r)
	deadline := generation.NewBudget(st.start, st.route.Budget(), s.cfg.BudgetMargin, platformDeadline(r), -1).Work
	if limit := time.Now().Add(MeterDrainTime); limit.Before(deadline) {
		deadline = limit
	}
	if time.Until(deadline) < time.Second {
		return out
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(r.Context()), deadline)
	defer cancel()
	drained, err := s.billing.Meter.Drain(ctx, MeterDrainMax)
	out.StripeMeter = &drained
	if err != nil {
		out.StripeMeterError = err.Error()
		s.log.Error("stripe meter drain", "error", err)
	}
	if left, err := s.store.MeterOutbox(context.WithoutCancel(r.Context())); err == nil {
		out.StripeMeterOutbox = left
		if left.Failed > 0 {
			// Failed events wait for an operator: say so every minute.
			s.log.Warn("stripe meter events failed; see tryon client show", "failed", left.Failed, "pending", left.Pending)
		}
	}
	return out
}

// The cron sweep's share for meter events: a minute's usage of a busy
// deployment fits many times over; what is left waits for the next minute.
const (
	MeterDrainTime = 30 * time.Second
	MeterDrainMax  = 2000
)

// platformMetricsWithStripe is the platform view with the Stripe meter's
// outbox, when Stripe is configured: events waiting, and events failed for
// good, which an operator must look at.
type platformMetricsWithStripe struct {
	platformMetrics
	StripeMeter *billing.MeterOutbox `json:"stripe_meter,omitempty"`
}

func (s *Server) withStripeMeter(r *http.Request, m platformMetrics) platformMetricsWithStripe {
	out := platformMetricsWithStripe{platformMetrics: m}
	if s.billing.Meter == nil {
		return out
	}
	if left, err := s.store.MeterOutbox(context.WithoutCancel(r.Context())); err == nil {
		out.StripeMeter = left
	} else {
		s.log.Warn("stripe meter outbox", "error", err)
	}
	return out
}
