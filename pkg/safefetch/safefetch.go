// Package safefetch fetches tenant-supplied URLs without letting them reach
// private networks. It guards the input images of POST /generate, the
// provider output URLs copied into storage, and webhook delivery.
//
// The guard sits in the dialer: every address the transport is about to
// connect to, after DNS and after each redirect, is checked against the
// ranges that are not the public internet. Checking the URL's host name
// instead would be fooled by a name that resolves to 127.0.0.1, by DNS
// rebinding and by redirects, so the syntactic checks here only give tenants
// an earlier, clearer error.
package safefetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// The limits a zero Options field stands for.
const (
	DefaultMaxBytes     = 10 << 20
	DefaultTimeout      = 15 * time.Second
	DefaultMaxRedirects = 5
	DefaultMaxPixels    = 40_000_000
)

// Options configures a Client. The zero value gives the defaults.
type Options struct {
	// MaxBytes caps a response body or decoded data: URL; DefaultMaxBytes
	// when not positive.
	MaxBytes int64
	// Timeout bounds a whole fetch, redirects and body included;
	// DefaultTimeout when not positive.
	Timeout time.Duration
	// MaxRedirects is how many redirects a fetch follows: DefaultMaxRedirects
	// when zero, none when negative.
	MaxRedirects int
	// MaxPixels caps width*height of an image, so that a small file
	// declaring a huge canvas (a decompression bomb) is refused before a
	// provider or a decoder tries to allocate it; DefaultMaxPixels when not
	// positive.
	MaxPixels int
	// Allow lists addresses that may be dialled even though they are
	// private. It exists for tests that run servers on loopback and is empty
	// in production.
	Allow []netip.Prefix
}

// Client fetches URLs through the guarded transport. It is safe for
// concurrent use and should be reused, since it keeps connections alive.
type Client struct {
	maxBytes     int64
	timeout      time.Duration
	maxRedirects int
	maxPixels    int64
	allow        []netip.Prefix

	dialer    *net.Dialer
	transport *http.Transport
	client    *http.Client // follows redirects, re-checking each one
}

// New returns a Client with opts, zero fields replaced by the defaults.
func New(opts Options) *Client {
	c := &Client{
		maxBytes:     opts.MaxBytes,
		timeout:      opts.Timeout,
		maxRedirects: opts.MaxRedirects,
		maxPixels:    int64(opts.MaxPixels),
	}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultMaxBytes
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	switch {
	case c.maxRedirects == 0:
		c.maxRedirects = DefaultMaxRedirects
	case c.maxRedirects < 0:
		c.maxRedirects = 0
	}
	if c.maxPixels <= 0 {
		c.maxPixels = DefaultMaxPixels
	}
	for _, p := range opts.Allow {
		// Addresses are compared unmapped, so an IPv4-mapped prefix must be too.
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		c.allow = append(c.allow, p.Masked())
	}

	c.dialer = &net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second, Control: c.control}
	c.transport = &http.Transport{
		// Never a proxy from the environment: the proxy would do the dialling
		// and the check would see only the proxy's address.
		Proxy:                  nil,
		DialContext:            c.dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConns:           100,
		IdleConnTimeout:        90 * time.Second,
		ExpectContinueTimeout:  time.Second,
	}
	c.client = &http.Client{Transport: c.transport, CheckRedirect: c.checkRedirect}
	return c
}

// HTTPClient returns an *http.Client that dials only public addresses and
// does not follow redirects, for sending webhooks: a redirect would let the
// receiver point a signed POST somewhere else. Each request is bounded by
// the Client's timeout. Its errors are the transport's own; a refused
// address has ErrBlocked in its chain.
func (c *Client) HTTPClient() *http.Client {
	return &http.Client{
		Transport: c.transport,
		Timeout:   c.timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// FetchImage loads an input image from an http(s) URL or a
// data:image/(png|jpeg|webp);base64 URL. The bytes decide whether it is a
// PNG, JPEG or WebP image and which; the Content-Type header and the data:
// media type are the tenant's claims and are not trusted. Errors are
// invalid_request *tryon.Errors naming no field. FetchImage implements
// tryon.Fetcher.
func (c *Client) FetchImage(ctx context.Context, rawURL string) (*tryon.Image, error) {
	var (
		body []byte
		err  error
	)
	if isDataURL(rawURL) {
		var declared string
		body, declared, err = DecodeDataURL(rawURL, c.maxBytes)
		if err != nil {
			return nil, err
		}
		switch declared {
		case media.PNG, media.JPEG, media.WebP:
		default:
			return nil, refuse("must be a data:image/png, image/jpeg or image/webp URL",
				fmt.Errorf("data: URL declares %q", declared))
		}
	} else {
		body, _, err = c.get(ctx, rawURL, c.maxBytes, "image/png, image/jpeg, image/webp")
		if err != nil {
			return nil, err
		}
	}
	info, ok := media.Sniff(body)
	if !ok || !info.IsImage() {
		return nil, refuse(msgNotImage, fmt.Errorf("%d bytes of %s", len(body), describe(body, info)))
	}
	if int64(info.Width)*int64(info.Height) > c.maxPixels {
		return nil, tooManyPixels(c.maxPixels, info.Width, info.Height)
	}
	return &tryon.Image{Bytes: body, ContentType: info.ContentType, Width: info.Width, Height: info.Height}, nil
}

// The generate handler depends on tryon.Fetcher, not on this package.
var _ tryon.Fetcher = (*Client)(nil)

// describe names what a refused body was, for the log.
func describe(body []byte, info media.Info) string {
	if info.ContentType != "" {
		return info.ContentType
	}
	return fmt.Sprintf("%q", body[:min(len(body), 16)])
}

// Get fetches rawURL through the same guard and returns at most maxBytes
// (the Client's MaxBytes when not positive) of body, whatever its type, for
// copying provider output. A data: URL is decoded instead, since some
// providers return their output inline. contentType is what the server (or
// the data: URL) declares and must not be trusted: sniff the body. Errors
// are invalid_request *tryon.Errors naming no field.
func (c *Client) Get(ctx context.Context, rawURL string, maxBytes int64) (body []byte, contentType string, err error) {
	if maxBytes <= 0 {
		maxBytes = c.maxBytes
	}
	if isDataURL(rawURL) {
		return DecodeDataURL(rawURL, maxBytes)
	}
	return c.get(ctx, rawURL, maxBytes, "*/*")
}

func (c *Client) get(ctx context.Context, rawURL string, maxBytes int64, accept string) ([]byte, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", refuseURL(err, msgSchemes)
	}
	if err := checkURL(u, c.allow); err != nil {
		return nil, "", refuseURL(err, msgSchemes)
	}

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", refuseURL(err, msgSchemes)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "Tryon-Fetch/1.0")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, "", fetchFailure(ctx, err)
	}
	// Closing without draining costs the connection but never reads more
	// than the limit.
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, "", refuse(fmt.Sprintf("could not be fetched (HTTP %d)", resp.StatusCode),
			fmt.Errorf("%s answered %s", u.Host, resp.Status))
	}
	if resp.ContentLength > maxBytes {
		return nil, "", tooLarge(maxBytes, fmt.Errorf("Content-Length is %d", resp.ContentLength))
	}
	// One byte past the limit tells an oversized body from one that fits.
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, "", fetchFailure(ctx, err)
	}
	if int64(len(body)) > maxBytes {
		return nil, "", tooLarge(maxBytes, errors.New("body exceeds the limit"))
	}
	return body, resp.Header.Get("Content-Type"), nil
}

// checkRedirect re-applies the URL check to every hop; the dial check then
// judges the new host's addresses as it would the first.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > c.maxRedirects {
		return fmt.Errorf("%w: %d", errTooManyRedirects, len(via))
	}
	if err := checkURL(req.URL, c.allow); err != nil {
		// Only the host reaches the log: signed URLs carry secrets in the query.
		return refuseURL(fmt.Errorf("redirect to %s: %w", req.URL.Host, err),
			"was redirected to a URL that is not http(s)")
	}
	return nil
}

func isDataURL(s string) bool {
	return len(s) >= len("data:") && strings.EqualFold(s[:len("data:")], "data:")
}
