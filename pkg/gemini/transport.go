package gemini

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// keyHeader carries the API key. The key never goes in a query string, where
// proxies and access logs would keep it.
const keyHeader = "x-goog-api-key"

// maxJSONBytes caps a JSON answer. A 4K PNG from Gemini 3 Pro is some tens of
// megabytes once base64-encoded; anything far beyond is not an image answer.
const maxJSONBytes = 64 << 20

// guardedClient copies c (or a plain client) with a redirect policy that
// drops the API key whenever a redirect leaves the API's origin: net/http
// forwards custom headers to any host, and Veo downloads redirect to storage.
func (p *Provider) guardedClient(c *http.Client) *http.Client {
	guarded := &http.Client{}
	if c != nil {
		*guarded = *c
	}
	next := guarded.CheckRedirect
	guarded.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !p.sameOrigin(req.URL) {
			req.Header.Del(keyHeader)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return guarded
}

// sameOrigin reports whether u is on the configured API's scheme and host,
// the only place the key may be sent.
func (p *Provider) sameOrigin(u *url.URL) bool {
	return p.base != nil && u.Scheme == p.base.Scheme && u.Host == p.base.Host
}

// reply is a whole, size-capped HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// send makes one JSON call to the API and reads the answer whole, whatever
// its status. A non-nil error is already classified.
func (p *Provider) send(ctx context.Context, method, path string, body []byte) (*reply, error) {
	if p.key == "" {
		return nil, p.configProblem(&tryon.ProviderError{
			Provider: Name, Kind: tryon.FailAuth,
			Message: "the provider rejected our credentials",
			Detail:  "no Gemini API key is configured",
		}, "")
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.baseURL+path, rd)
	if err != nil || p.base == nil {
		return nil, p.configProblem(&tryon.ProviderError{
			Provider: Name, Kind: tryon.FailInvalidRequest,
			Message: "the provider rejected the request",
			Detail:  "bad Gemini base URL or path",
		}, "")
	}
	req.Header.Set(keyHeader, p.key)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, p.redactErr(transportFailure(ctx, err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBytes+1))
	if err != nil {
		return nil, p.redactErr(transportFailure(ctx, err))
	}
	if len(data) > maxJSONBytes {
		return nil, badResponse("answer exceeds %d bytes", maxJSONBytes)
	}
	return &reply{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// httpFailure classifies a non-2xx reply and logs it loudly when it means
// our configuration is wrong.
func (p *Provider) httpFailure(r *reply, target string) *tryon.ProviderError {
	return p.configProblem(classifyHTTP(r.status, r.header, r.body), target)
}

func (p *Provider) redactErr(pe *tryon.ProviderError) *tryon.ProviderError {
	pe.Detail = p.redact(pe.Detail)
	return pe
}
