package vertex

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// predictRequest is the body of :predict for Virtual Try-On.
type predictRequest struct {
	Instances  []instance `json:"instances"`
	Parameters parameters `json:"parameters"`
}

type instance struct {
	PersonImage   imageHolder   `json:"personImage"`
	ProductImages []imageHolder `json:"productImages"`
}

type imageHolder struct {
	Image encodedImage `json:"image"`
}

type encodedImage struct {
	BytesBase64Encoded string `json:"bytesBase64Encoded"`
}

type parameters struct {
	SampleCount int    `json:"sampleCount"`
	Seed        *int64 `json:"seed,omitempty"`
	// AddWatermark must be false for a seed to be honoured; it is false
	// always, since the tenant's shop shows the picture, not Google.
	AddWatermark     bool           `json:"addWatermark"`
	PersonGeneration string         `json:"personGeneration"`
	SafetySetting    string         `json:"safetySetting"`
	OutputOptions    *outputOptions `json:"outputOptions,omitempty"`
}

type outputOptions struct {
	MIMEType           string `json:"mimeType"`
	CompressionQuality int    `json:"compressionQuality,omitempty"`
}

// predictResponse is a :predict answer: each prediction holds an image or
// the reason the safety filter removed it.
type predictResponse struct {
	Predictions []struct {
		MIMEType           string `json:"mimeType"`
		BytesBase64Encoded string `json:"bytesBase64Encoded"`
		RAIFilteredReason  string `json:"raiFilteredReason"`
	} `json:"predictions"`
}

// maxAnswer bounds a read answer: one base64 image of up to 32 MB.
const maxAnswer = 48 << 20

// Generate dresses the person in each garment in dressing order, one
// prediction per garment (Virtual Try-On takes one product at a time),
// feeding each output to the next as its person image.
func (p *Provider) Generate(ctx context.Context, req tryon.ProviderRequest) (*tryon.Result, error) {
	if p.configErr != "" {
		return nil, p.report(&tryon.ProviderError{Provider: Name, Kind: tryon.FailAuth,
			Message: "the provider is not configured correctly", Detail: p.configErr})
	}
	if req.Service != tryon.ServiceVTO || req.Person == nil || len(req.Garments) == 0 {
		return nil, p.report(invalid("Virtual Try-On takes a try-on task: a person and garments"))
	}
	person := req.Person
	for _, img := range append([]*tryon.Image{req.Person}, garmentImages(req)...) {
		if img == nil || (img.ContentType != media.PNG && img.ContentType != media.JPEG) {
			return nil, &tryon.ProviderError{Provider: Name, Kind: tryon.FailInvalidRequest,
				Message: "Virtual Try-On takes PNG or JPEG photos only", Detail: "an input is not PNG or JPEG"}
		}
	}
	var out *tryon.Result
	for i, g := range req.Garments {
		body := predictRequest{
			Instances: []instance{{
				PersonImage:   imageHolder{encodedImage{base64.StdEncoding.EncodeToString(person.Bytes)}},
				ProductImages: []imageHolder{{encodedImage{base64.StdEncoding.EncodeToString(g.Image.Bytes)}}},
			}},
			Parameters: parameters{SampleCount: 1, Seed: req.Seed, PersonGeneration: "allow_adult",
				SafetySetting: "block_medium_and_above"},
		}
		if i == len(req.Garments)-1 {
			// Each garment is dressed on the last call's image: only the
			// last call makes the variants asked for.
			body.Parameters.SampleCount = req.Outputs()
		}
		// Intermediate outputs stay PNG, so that only the last is lossy.
		if i == len(req.Garments)-1 && req.OutputFormat == tryon.FormatJPEG {
			body.Parameters.OutputOptions = &outputOptions{MIMEType: media.JPEG, CompressionQuality: req.OutputQuality}
		} else {
			body.Parameters.OutputOptions = &outputOptions{MIMEType: media.PNG}
		}
		var err error
		if out, err = p.predictWithRetry(ctx, body); err != nil {
			return nil, err
		}
		person = &tryon.Image{Bytes: out.Bytes, ContentType: out.ContentType, Width: out.Width, Height: out.Height}
	}
	return out, nil
}

func garmentImages(req tryon.ProviderRequest) []*tryon.Image {
	out := make([]*tryon.Image, len(req.Garments))
	for i, g := range req.Garments {
		out[i] = g.Image
	}
	return out
}

// predict makes one :predict call.
func (p *Provider) predict(ctx context.Context, body predictRequest) (*tryon.Result, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, invalid("encode request: " + err.Error())
	}
	token, err := p.tokens.Token()
	if err != nil {
		return nil, p.report(tokenFailure(err))
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint(), bytes.NewReader(raw))
	if err != nil {
		return nil, p.report(invalid("build request: " + err.Error()))
	}
	hreq.Header.Set("Content-Type", "application/json")
	token.SetAuthHeader(hreq)
	resp, err := p.client.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return nil, &tryon.ProviderError{Provider: Name, Kind: tryon.FailTimeout, Message: "Virtual Try-On did not answer in time"}
		}
		return nil, &tryon.ProviderError{Provider: Name, Kind: tryon.FailUnavailable, Message: "Virtual Try-On could not be reached", Detail: err.Error()}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, &tryon.ProviderError{Provider: Name, Kind: tryon.FailUnavailable, Message: "Virtual Try-On's answer was cut off", Detail: err.Error()}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, p.report(statusFailure(resp.StatusCode, data))
	}
	return parsePrediction(data)
}

// parsePrediction reads the image of a 200 answer, or why there is none.
func parsePrediction(data []byte) (*tryon.Result, error) {
	if len(data) > maxAnswer {
		return nil, badResponse("answer larger than the output limit")
	}
	var r predictResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, badResponse("decode answer: " + err.Error())
	}
	if len(r.Predictions) == 0 {
		return nil, &tryon.ProviderError{Provider: Name, Kind: tryon.FailNoOutput, Message: "the model answered without an image"}
	}
	// With a sampleCount over 1, the safety filters drop samples one by one:
	// those left are a partial success; none left is the first one's failure.
	var outs []*tryon.Result
	var first error
	for _, pr := range r.Predictions {
		out, err := parseSample(pr.BytesBase64Encoded, pr.RAIFilteredReason)
		if err != nil {
			first = cmp.Or(first, err)
			continue
		}
		outs = append(outs, out)
	}
	if len(outs) == 0 {
		return nil, first
	}
	return tryon.Results(outs), nil
}

// parseSample reads one prediction: an image, or the reason it was filtered.
func parseSample(b64, filtered string) (*tryon.Result, error) {
	if filtered != "" {
		return nil, &tryon.ProviderError{Provider: Name, Kind: tryon.FailContentBlocked,
			Message: "the output was blocked by the provider's safety filters", Detail: truncate(filtered)}
	}
	img, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, badResponse("decode image: " + err.Error())
	}
	info, ok := media.Sniff(img)
	if !ok || !info.IsImage() {
		return nil, badResponse("the prediction is not an image")
	}
	return &tryon.Result{Bytes: img, ContentType: info.ContentType, Width: info.Width, Height: info.Height}, nil
}

// rpcStatus is Google's error body.
type rpcStatus struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

// statusFailure classifies a non-200 answer by its google.rpc status.
func statusFailure(code int, body []byte) *tryon.ProviderError {
	var st rpcStatus
	_ = json.Unmarshal(body, &st)
	detail := truncate(strings.TrimSpace(st.Error.Status + ": " + st.Error.Message))
	pe := &tryon.ProviderError{Provider: Name, Status: code, Detail: detail}
	switch {
	case code == http.StatusTooManyRequests || st.Error.Status == "RESOURCE_EXHAUSTED":
		pe.Kind, pe.Message = tryon.FailRateLimited, "Virtual Try-On is over its request quota; try again shortly"
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		pe.Kind, pe.Message = tryon.FailAuth, "the provider refused our credentials"
	case code == http.StatusBadRequest || code == http.StatusNotFound:
		pe.Kind, pe.Message = tryon.FailInvalidRequest, "the provider refused the request"
	case code >= 500:
		pe.Kind, pe.Message = tryon.FailUnavailable, "Virtual Try-On is unavailable; try again shortly"
	default:
		pe.Kind, pe.Message = tryon.FailBadResponse, "the provider answered unexpectedly"
	}
	return pe
}

// tokenFailure is a failed token exchange: our service account is wrong.
func tokenFailure(err error) *tryon.ProviderError {
	detail := "token exchange failed"
	if err != nil {
		detail += ": " + truncate(err.Error())
	}
	return &tryon.ProviderError{Provider: Name, Kind: tryon.FailAuth, Message: "the provider refused our credentials", Detail: detail}
}

func invalid(detail string) *tryon.ProviderError {
	return &tryon.ProviderError{Provider: Name, Kind: tryon.FailInvalidRequest, Message: "the request could not be sent to the provider", Detail: detail}
}

func badResponse(detail string) *tryon.ProviderError {
	return &tryon.ProviderError{Provider: Name, Kind: tryon.FailBadResponse, Message: "the provider's answer could not be read", Detail: detail}
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
