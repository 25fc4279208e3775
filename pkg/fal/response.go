package fal

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// answer is a successful Nano Banana answer. Images is a pointer so that a
// missing field (an answer we do not understand) differs from an empty list
// (the model made nothing).
type answer struct {
	Images      *[]file `json:"images"`
	Description string  `json:"description"`
}

// file is fal's File object. Width and height are optional and only
// informative: the size we report comes from the downloaded bytes.
type file struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
	FileName    string `json:"file_name"`
	FileSize    int64  `json:"file_size"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
}

// decodeAnswer checks the shape of a 200 answer and picks the output URL.
func decodeAnswer(data []byte) (*answer, *tryon.ProviderError) {
	var a answer
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, badResponse("decode answer: " + err.Error())
	}
	if a.Images == nil {
		return nil, badResponse("answer has no images field")
	}
	if len(*a.Images) == 0 {
		// The model answered with words only; they say why, so keep them.
		detail := "answer has no images"
		if d := strings.TrimSpace(a.Description); d != "" {
			detail += ": " + d
		}
		return nil, &tryon.ProviderError{
			Provider: providerName, Kind: tryon.FailNoOutput,
			Message: msgNoOutput, Detail: truncate(detail),
		}
	}
	if strings.TrimSpace((*a.Images)[0].URL) == "" {
		return nil, badResponse("answer's first image has no url")
	}
	return &a, nil
}

// downloadAll fetches at most want of the answer's images, all at once. An
// image that cannot be fetched is left out, as one fal did not make would
// be: a partial success. None fetched is the first image's error.
func (p *Provider) downloadAll(ctx context.Context, a *answer, want int) (*tryon.Result, error) {
	files := (*a.Images)[:min(len(*a.Images), max(want, 1))]
	outs := make([]*tryon.Result, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = p.download(ctx, f.URL)
		}()
	}
	wg.Wait()
	var got []*tryon.Result
	for i, o := range outs {
		if errs[i] != nil {
			p.log.Warn("fal output left out", "output", i, "error", errs[i])
			continue
		}
		got = append(got, o)
	}
	if len(got) == 0 {
		return nil, errs[0]
	}
	return tryon.Results(got), nil
}

// download fetches one output image through the Fetcher and describes it
// by its own bytes, never by fal's content_type or width and height.
func (p *Provider) download(ctx context.Context, url string) (*tryon.Result, error) {
	if strings.TrimSpace(url) == "" {
		return nil, badResponse("answer's image has no url")
	}
	img, err := p.fetcher.FetchImage(ctx, url)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, classifyTransport(ctx, err)
		}
		return nil, badResponse("fetch output " + describeURL(url) + ": " + err.Error())
	}
	if img == nil || len(img.Bytes) == 0 {
		return nil, badResponse("fetch output " + describeURL(url) + ": empty")
	}
	if int64(len(img.Bytes)) > p.maxOutput {
		return nil, badResponse(fmt.Sprintf("output is %d bytes, over the %d limit", len(img.Bytes), p.maxOutput))
	}
	info, ok := media.Sniff(img.Bytes)
	if !ok || !info.IsImage() {
		return nil, badResponse("output is not a PNG, JPEG or WebP image")
	}
	return &tryon.Result{
		Bytes:       img.Bytes,
		ContentType: info.ContentType,
		Width:       info.Width,
		Height:      info.Height,
	}, nil
}

// describeURL names an output URL for the logs without pasting a whole data:
// URI into them.
func describeURL(u string) string {
	if strings.HasPrefix(u, "data:") {
		if i := strings.IndexByte(u, ','); i > 0 && i < 100 {
			return u[:i] + ",…"
		}
		return "data:…"
	}
	return truncate(u)
}
