package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tryonhq/tryon/pkg/retry"
)

// DefaultTimeout bounds a delivery when Sender.Timeout is zero. The
// specification suggests 15 to 30 s; ours is shorter because deliveries run
// inside a Vercel function's time budget, and a receiver should acknowledge
// first and work afterwards.
const DefaultTimeout = 10 * time.Second

// DefaultUserAgent is the User-Agent of deliveries when Sender.UserAgent is
// empty, so receivers can tell them from other traffic.
const DefaultUserAgent = "Tryon-Webhooks/1.0"

// maxExcerpt bounds what is read of a receiver's answer: enough to explain
// a failure, never a receiver's whole page.
const maxExcerpt = 4 << 10

// Sender delivers signed webhooks. The zero value is ready to use. It never
// follows redirects: the specification counts a 3xx as a failed delivery,
// which tells the tenant to fix the endpoint's URL.
type Sender struct {
	// Client sends the requests; nil means http.DefaultClient. Its redirect
	// policy is overridden. In production it should refuse private and
	// loopback addresses, since tenants choose the URLs (SSRF).
	Client *http.Client
	// Timeout bounds one delivery; zero means DefaultTimeout.
	Timeout time.Duration
	// UserAgent is sent with every delivery; empty means DefaultUserAgent.
	UserAgent string
}

// DeliveryError is a delivery the receiver answered with a status other
// than 2xx.
type DeliveryError struct {
	// Status is the receiver's HTTP status. 410 Gone means the endpoint
	// wants no more deliveries and should be disabled, per the
	// specification.
	Status int
	// RetryAfter is the wait the receiver asked for (429, 503), or zero.
	RetryAfter time.Duration
	// Excerpt is the start of the receiver's answer, at most a few KB,
	// with control characters replaced; for the delivery record, not for
	// logging whole.
	Excerpt string
}

func (e *DeliveryError) Error() string {
	s := fmt.Sprintf("webhook: receiver answered HTTP %d", e.Status)
	if e.Status >= 300 && e.Status < 400 {
		s += " (redirects are not followed: update the endpoint URL)"
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Excerpt != "" {
		// A line of it is enough for a log; the rest stays in Excerpt.
		s += ": " + shorten(e.Excerpt, 120)
	}
	return s
}

// Send signs body and POSTs it to url with the Standard Webhooks headers,
// within Timeout. A 2xx answer is success. Any other status gives a
// *DeliveryError with that status; a transport failure or timeout gives
// status 0 and an error naming only the URL's host, since tenants put
// credentials in webhook URLs. msgID must stay the same across the retries of
// one event, so receivers can discard duplicates; ts is the time of this
// attempt.
func (s *Sender) Send(ctx context.Context, url, secret, msgID string, ts time.Time, body []byte) (status int, err error) {
	target, err := parseTarget(url)
	if err != nil {
		return 0, err
	}
	if !json.Valid(body) {
		return 0, errors.New("webhook: body is not JSON")
	}
	sig, err := Sign(secret, msgID, ts, body)
	if err != nil {
		return 0, err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("webhook: deliver to %s: %w", target.Host, err)
	}
	h := req.Header
	h.Set(HeaderID, msgID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, sig)
	h.Set("Content-Type", "application/json")
	ua := s.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	h.Set("User-Agent", ua)

	resp, err := s.client().Do(req)
	if err != nil {
		err = unwrapURLError(err)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, fmt.Errorf("webhook: deliver to %s: no answer before the deadline: %w", target.Host, err)
		}
		return 0, fmt.Errorf("webhook: deliver to %s: %w", target.Host, err)
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, maxExcerpt))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, &DeliveryError{
		Status:     resp.StatusCode,
		RetryAfter: retry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		Excerpt:    clean(string(excerpt)),
	}
}

// client is s.Client with redirects turned off. Copying the client keeps
// the caller's transport, and with it the connection pool, while leaving the
// caller's own value untouched.
func (s *Sender) client() *http.Client {
	c := http.DefaultClient
	if s.Client != nil {
		c = s.Client
	}
	noRedirects := *c
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &noRedirects
}

// parseTarget accepts only absolute http(s) URLs.
func parseTarget(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		// The URL itself is not quoted: it may hold a tenant's credentials.
		return nil, errors.New("webhook: endpoint URL is not an absolute http(s) URL")
	}
	return u, nil
}

// unwrapURLError strips the *url.Error around a transport failure, whose
// message quotes the whole URL, query and user info included.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// clean replaces control characters, which could forge log lines or break
// a terminal, with spaces.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// shorten keeps at most n runes of s.
func shorten(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "…"
		}
		i++
	}
	return s
}
