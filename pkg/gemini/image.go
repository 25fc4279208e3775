package gemini

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/tryonprompt"
)

// generateRequest is the body of models/{model}:generateContent. Field names
// are camelCase, as the Go SDK sends them.
type generateRequest struct {
	Contents         []content        `json:"contents"`
	GenerationConfig generationConfig `json:"generationConfig"`
}

type content struct {
	Role  string `json:"role,omitempty"`
	Parts []part `json:"parts"`
}

type part struct {
	Text       string `json:"text,omitempty"`
	InlineData *blob  `json:"inlineData,omitempty"`
	Thought    bool   `json:"thought,omitempty"`
}

// blob is inline bytes. Data stays a string so that decoding can accept
// every base64 alphabet proto-JSON allows.
type blob struct {
	MIMEType string `json:"mimeType"`
	Data     string `json:"data"`
}

type generationConfig struct {
	ResponseModalities []string    `json:"responseModalities"`
	ImageConfig        imageConfig `json:"imageConfig"`
	Seed               *int64      `json:"seed,omitempty"`
}

type imageConfig struct {
	AspectRatio string `json:"aspectRatio,omitempty"`
	ImageSize   string `json:"imageSize,omitempty"`
}

// generateResponse is the part of a generateContent answer we read.
type generateResponse struct {
	Candidates []struct {
		Content *struct {
			Parts []part `json:"parts"`
		} `json:"content"`
		FinishReason  string `json:"finishReason"`
		FinishMessage string `json:"finishMessage"`
	} `json:"candidates"`
	PromptFeedback *struct {
		BlockReason        string `json:"blockReason"`
		BlockReasonMessage string `json:"blockReasonMessage"`
	} `json:"promptFeedback"`
	ModelVersion string `json:"modelVersion"`
	ResponseID   string `json:"responseId"`
}

// tryOnInstruction frames a try-on for the model: which image is which, what
// must not change, and the tenant's own words as extra direction. Without it
// the model tends to restyle the person or return the garment alone.
const tryOnInstruction = "Create a photorealistic image of the person in the first image wearing the garment " +
	"shown in the second image. Keep the person's face, hair, skin tone, body shape, pose and the background " +
	"unchanged. Replace only the clothing the garment covers, and make it fit naturally, with realistic folds, " +
	"shadows and lighting that match the first image. Do not add text or watermarks."

// imagePrompt is the text part sent with the images.
func imagePrompt(req tryon.ProviderRequest) string {
	if len(req.Garments) > 0 {
		return tryonprompt.Build(req.Service, req.Garments, req.Prompt)
	}
	if req.Person == nil || req.Garment == nil {
		return req.Prompt
	}
	if strings.TrimSpace(req.Prompt) == "" {
		return tryOnInstruction
	}
	return tryOnInstruction + "\n\nAdditional instructions: " + req.Prompt
}

// imageRequestBody builds the generateContent body for req.
func imageRequestBody(model string, req tryon.ProviderRequest) ([]byte, error) {
	parts := []part{{Text: imagePrompt(req)}}
	// Person first, garments next: the instruction names them by position.
	for _, img := range inputImages(req) {
		if img != nil {
			parts = append(parts, part{InlineData: &blob{
				MIMEType: img.ContentType,
				Data:     base64.StdEncoding.EncodeToString(img.Bytes),
			}})
		}
	}
	// With no size asked, follow the person photo rather than letting the
	// model follow the last image, which is the garment.
	w, h := req.Width, req.Height
	if (w <= 0 || h <= 0) && req.Person != nil {
		w, h = req.Person.Width, req.Person.Height
	}
	ratio, size := SnapImage(model, w, h)
	return json.Marshal(generateRequest{
		Contents: []content{{Role: "user", Parts: parts}},
		GenerationConfig: generationConfig{
			ResponseModalities: []string{"IMAGE"},
			ImageConfig:        imageConfig{AspectRatio: ratio, ImageSize: size},
			Seed:               req.Seed,
		},
	})
}

// generateImages makes the outputs asked for. Gemini's image models make
// one image per call (they take no candidateCount), so several outputs are
// that many calls at once, within the same budget (ctx): call i is seeded
// with seed+i when a seed was asked for, so the set is reproducible and its
// images differ. Calls that fail leave their output out, a partial success;
// when every call fails, the first call's error is the generation's.
func (p *Provider) generateImages(ctx context.Context, req tryon.ProviderRequest) (*tryon.Result, error) {
	n := req.Outputs()
	if n == 1 {
		return p.generateImage(ctx, req)
	}
	outs := make([]*tryon.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		one := req
		one.NumOutputs = 1
		if req.Seed != nil {
			seed := *req.Seed + int64(i)
			one.Seed = &seed
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = p.generateImage(ctx, one)
		}()
	}
	wg.Wait()
	var got []*tryon.Result
	for i, o := range outs {
		if errs[i] == nil {
			got = append(got, o)
		}
	}
	if len(got) == 0 {
		return nil, errs[0]
	}
	return tryon.Results(got), nil
}

func (p *Provider) generateImage(ctx context.Context, req tryon.ProviderRequest) (*tryon.Result, error) {
	model := p.Model(req.Service)
	body, err := imageRequestBody(model, req)
	if err != nil {
		return nil, badResponse("encode request: %v", err)
	}
	path := "/v1beta/models/" + url.PathEscape(model) + ":generateContent"
	return withRetry(ctx, p, minImageAttempt, func(ctx context.Context) (*tryon.Result, error) {
		r, err := p.send(ctx, http.MethodPost, path, body)
		if err != nil {
			return nil, err
		}
		if r.status != http.StatusOK {
			return nil, p.httpFailure(r, model)
		}
		res, pe := parseImageResponse(r.body)
		if pe != nil {
			return nil, p.redactErr(pe)
		}
		return res, nil
	})
}

// parseImageResponse reads the output image from a 200 answer, or classifies
// why there is none. Safety blocks and missing images arrive as 200s, so the
// answer's own fields decide.
func parseImageResponse(body []byte) (*tryon.Result, *tryon.ProviderError) {
	var resp generateResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, badResponse("decode generateContent answer: %v", err)
	}
	// A blocked prompt has no candidates and a blockReason, or (as some
	// answers carry it) only a blockReasonMessage.
	if fb := resp.PromptFeedback; fb != nil && (fb.BlockReason != "" || (fb.BlockReasonMessage != "" && len(resp.Candidates) == 0)) {
		reason := fb.BlockReason
		if reason == "" {
			reason = "policy"
		}
		pe := blocked("prompt", reason)
		pe.Detail = joinNonEmpty(": ", pe.Detail, truncate(fb.BlockReasonMessage, 300))
		return nil, pe
	}
	if len(resp.Candidates) == 0 {
		return nil, badResponse("answer has no candidates and no block reason")
	}
	cand := resp.Candidates[0]
	if finishBlocked[cand.FinishReason] {
		pe := blocked("output", cand.FinishReason)
		pe.Detail = joinNonEmpty(": ", pe.Detail, cand.FinishMessage)
		return nil, pe
	}

	// Thinking models emit draft images marked thought; the answer is the
	// last image that is not.
	var img *blob
	var texts []string
	if cand.Content != nil {
		for i := range cand.Content.Parts {
			pt := &cand.Content.Parts[i]
			if pt.Thought {
				continue
			}
			if pt.InlineData != nil && strings.HasPrefix(pt.InlineData.MIMEType, "image/") {
				img = pt.InlineData
			} else if pt.Text != "" {
				texts = append(texts, pt.Text)
			}
		}
	}
	if img != nil {
		data, err := decodeBase64(img.Data)
		if err != nil {
			return nil, badResponse("decode image data: %v", err)
		}
		info, ok := media.Sniff(data)
		if !ok || !info.IsImage() {
			return nil, badResponse("image part (%s, %d bytes) is not a recognisable image", img.MIMEType, len(data))
		}
		return &tryon.Result{Bytes: data, ContentType: info.ContentType, Width: info.Width, Height: info.Height}, nil
	}

	said := truncate(strings.Join(texts, " "), 300)
	switch {
	case cand.FinishReason == "NO_IMAGE",
		cand.FinishReason == "STOP" || (cand.FinishReason == "" && len(texts) > 0):
		return nil, &tryon.ProviderError{
			Provider: Name,
			Kind:     tryon.FailNoOutput,
			Message:  "the model answered without an image",
			Detail:   joinNonEmpty(": ", "finishReason "+orNone(cand.FinishReason), cand.FinishMessage, said),
		}
	}
	return nil, badResponse("no image; finishReason %s%s", orNone(cand.FinishReason),
		joinNonEmpty("", prefixed(": ", cand.FinishMessage), prefixed(": ", said)))
}

// decodeBase64 accepts the standard and URL-safe alphabets, padded or not,
// all of which proto-JSON parsers produce.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// inputImages are the images sent after the text, in the order the text
// names them: the person, then the garment or the outfit's garments.
func inputImages(req tryon.ProviderRequest) []*tryon.Image {
	images := []*tryon.Image{req.Person, req.Garment}
	for _, g := range req.Garments {
		images = append(images, g.Image)
	}
	return images
}
