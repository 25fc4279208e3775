package fal

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// maxErrorBody bounds how much of a failed answer is read: enough for any
// error fal sends, and we keep only maxDetail of it anyway.
const maxErrorBody = 64 << 10

// call makes one POST to {base}/{endpoint}. retry reports whether the failure
// is one a repeat may cure: what fal's retry headers say, else a 429 or 5xx.
func (p *Provider) call(ctx context.Context, endpoint string, body []byte) (ans *answer, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.baseURL+"/"+endpoint, bytes.NewReader(body))
	if err != nil {
		// Only a malformed BaseURL gets here: configuration, not the tenant.
		return nil, false, invalid("build request: " + err.Error())
	}
	req.Header.Set("Authorization", "Key "+p.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")

	resp, err := p.client.Do(req)
	if err != nil {
		return nil, false, classifyTransport(ctx, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if rerr != nil && ctx.Err() != nil {
			return nil, false, classifyTransport(ctx, rerr)
		}
		perr := classifyStatus(resp.StatusCode, resp.Header, data)
		retry = perr.Kind == tryon.FailRateLimited || perr.Kind == tryon.FailUnavailable
		if hint, known := retryHint(resp.Header); known {
			retry = hint
		}
		return nil, retry, perr
	}

	// The answer may carry the image inline as a data: URI, so allow for the
	// base64 growth of the largest image we accept, plus the JSON around it.
	limit := p.maxOutput/3*4 + maxErrorBody
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, false, classifyTransport(ctx, err)
	}
	if int64(len(data)) > limit {
		return nil, false, badResponse("answer larger than the output limit")
	}
	ans, perr := decodeAnswer(data)
	if perr != nil {
		return nil, false, perr
	}
	return ans, false, nil
}
