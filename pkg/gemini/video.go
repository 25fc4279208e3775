package gemini

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/retry"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// videoRequest is the body of models/{model}:predictLongRunning.
type videoRequest struct {
	Instances  []videoInstance `json:"instances"`
	Parameters videoParameters `json:"parameters"`
}

type videoInstance struct {
	Prompt string      `json:"prompt"`
	Image  *videoImage `json:"image,omitempty"`
}

type videoImage struct {
	BytesBase64Encoded string `json:"bytesBase64Encoded"`
	MIMEType           string `json:"mimeType"`
}

// videoParameters leaves resolution out: every Veo 3 model renders 720p by
// default, which is the frame size we report.
type videoParameters struct {
	AspectRatio     string `json:"aspectRatio"`
	DurationSeconds int    `json:"durationSeconds"`
	SampleCount     int    `json:"sampleCount"`
}

// operation is a long-running operation as GET returns it. Done is absent,
// not false, while some operations run, which decodes as false.
type operation struct {
	Name  string `json:"name"`
	Done  bool   `json:"done"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Response *struct {
		GenerateVideoResponse *struct {
			GeneratedSamples []struct {
				Video *struct {
					URI          string `json:"uri"`
					EncodedVideo string `json:"encodedVideo"`
				} `json:"video"`
			} `json:"generatedSamples"`
			RAIMediaFilteredCount   int      `json:"raiMediaFilteredCount"`
			RAIMediaFilteredReasons []string `json:"raiMediaFilteredReasons"`
		} `json:"generateVideoResponse"`
	} `json:"response"`
}

// defaultVideoPrompt animates an input image when the tenant gave no words;
// Veo wants a prompt even for image-to-video.
const defaultVideoPrompt = "The person turns slowly and naturally to show the outfit from several angles, " +
	"with subtle natural motion of the fabric. Keep the person's appearance and the background unchanged."

// operationName matches what Veo returns and all Poll will put in a URL, so
// a stored name can never steer the request elsewhere.
var operationName = regexp.MustCompile(`^(models/[A-Za-z0-9._-]+/)?operations/[A-Za-z0-9._-]+$`)

// Start submits a Veo job and returns its operation name with the chosen
// aspect ratio appended after '#', as in
// "models/veo-3.0-fast-generate-001/operations/abc#9:16". Veo's answer does
// not say the video's size and Poll may run in another process, so the
// operation string carries it; Poll also accepts a bare name (as 16:9).
func (p *Provider) Start(ctx context.Context, req tryon.ProviderRequest) (string, error) {
	if !req.Service.IsVideo() {
		return "", p.configProblem(&tryon.ProviderError{
			Provider: Name, Kind: tryon.FailInvalidRequest,
			Message: "the service does not run as an operation",
			Detail:  "Start called for service " + string(req.Service),
		}, "")
	}
	model := p.Model(req.Service)
	// The first frame: the person if given, since the video is of them
	// wearing the outfit; the garment alone otherwise.
	first := req.Person
	if first == nil {
		first = req.Garment
	}
	w, h := req.Width, req.Height
	if (w <= 0 || h <= 0) && first != nil {
		w, h = first.Width, first.Height
	}
	ratio, _, _ := SnapVideo(w, h)
	inst := videoInstance{Prompt: req.Prompt}
	if first != nil {
		inst.Image = &videoImage{
			BytesBase64Encoded: base64.StdEncoding.EncodeToString(first.Bytes),
			MIMEType:           first.ContentType,
		}
		if strings.TrimSpace(inst.Prompt) == "" {
			inst.Prompt = defaultVideoPrompt
		}
	}
	body, err := json.Marshal(videoRequest{
		Instances:  []videoInstance{inst},
		Parameters: videoParameters{AspectRatio: ratio, DurationSeconds: SnapDuration(req.DurationSeconds), SampleCount: 1},
	})
	if err != nil {
		return "", badResponse("encode request: %v", err)
	}
	path := "/v1beta/models/" + url.PathEscape(model) + ":predictLongRunning"
	name, err := withRetry(ctx, p, minSubmitAttempt, func(ctx context.Context) (string, error) {
		r, err := p.send(ctx, http.MethodPost, path, body)
		if err != nil {
			return "", err
		}
		if r.status != http.StatusOK {
			return "", p.httpFailure(r, model)
		}
		var op operation
		if err := json.Unmarshal(r.body, &op); err != nil {
			return "", badResponse("decode predictLongRunning answer: %v", err)
		}
		if !operationName.MatchString(op.Name) {
			return "", badResponse("predictLongRunning answered with operation name %q", truncate(op.Name, 200))
		}
		return op.Name, nil
	})
	if err != nil {
		return "", err
	}
	return name + "#" + ratio, nil
}

// splitOperation separates Start's operation string into the upstream name
// and the aspect ratio.
func splitOperation(s string) (name, ratio string, ok bool) {
	name, ratio, _ = strings.Cut(s, "#")
	if ratio != VideoPortrait {
		ratio = VideoLandscape
	}
	return name, ratio, operationName.MatchString(name)
}

// Poll asks once whether the operation is done. It returns (nil, nil) while
// it runs, the downloaded video when it is done, and a classified error when
// it failed. A Retryable error (rate limited, unavailable) means the
// operation itself may still be fine and can be polled again.
func (p *Provider) Poll(ctx context.Context, op string) (*tryon.Result, error) {
	name, ratio, ok := splitOperation(op)
	if !ok {
		return nil, p.configProblem(&tryon.ProviderError{
			Provider: Name, Kind: tryon.FailInvalidRequest,
			Message: "the provider rejected the request",
			Detail:  "not a Veo operation name: " + truncate(op, 200),
		}, "")
	}
	r, err := p.send(ctx, http.MethodGet, "/v1beta/"+name, nil)
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK {
		return nil, p.httpFailure(r, name)
	}
	var o operation
	if err := json.Unmarshal(r.body, &o); err != nil {
		return nil, badResponse("decode operation: %v", err)
	}
	if !o.Done {
		return nil, nil
	}
	if o.Error != nil {
		return nil, p.operationFailure(name, o.Error.Code, o.Error.Message)
	}
	if o.Response == nil || o.Response.GenerateVideoResponse == nil {
		return nil, badResponse("done operation has neither error nor generateVideoResponse")
	}
	vr := o.Response.GenerateVideoResponse
	if vr.RAIMediaFilteredCount > 0 || (len(vr.GeneratedSamples) == 0 && len(vr.RAIMediaFilteredReasons) > 0) {
		pe := blocked("video", "RAI media filter")
		if len(vr.RAIMediaFilteredReasons) > 0 {
			// Google writes these reasons for end users, so the tenant sees them.
			reasons := truncate(strings.Join(vr.RAIMediaFilteredReasons, " "), 500)
			pe.Message = "the provider's safety filters blocked the video: " + reasons
			pe.Detail = "video blocked: " + reasons
		}
		return nil, pe
	}
	if len(vr.GeneratedSamples) == 0 || vr.GeneratedSamples[0].Video == nil {
		// Final: the operation is done, so polling it again gives the same.
		return nil, &tryon.ProviderError{
			Provider: Name, Kind: tryon.FailNoOutput, Final: true,
			Message: "the model answered without a video",
			Detail:  "done operation has no generated samples",
		}
	}
	v := vr.GeneratedSamples[0].Video
	var data []byte
	switch {
	case v.EncodedVideo != "":
		if data, err = decodeBase64(v.EncodedVideo); err != nil {
			return nil, badResponse("decode inline video: %v", err)
		}
		if int64(len(data)) > p.maxVideo {
			return nil, badResponse("video exceeds size cap of %d bytes", p.maxVideo)
		}
	case v.URI != "":
		if data, err = p.download(ctx, v.URI); err != nil {
			return nil, err
		}
	default:
		return nil, badResponse("generated sample has neither uri nor encodedVideo")
	}
	if len(data) == 0 {
		return nil, badResponse("video is empty")
	}
	contentType := media.MP4
	if info, ok := media.Sniff(data); ok && info.IsVideo() {
		contentType = info.ContentType
	}
	width, height := videoFrame(ratio)
	return &tryon.Result{Bytes: data, ContentType: contentType, Width: width, Height: height}, nil
}

// filesDownload matches the path of a Files API download URI, as Veo names
// its videos ("/v1beta/files/{id}:download").
var filesDownload = regexp.MustCompile(`^/v1[a-z0-9]*/files/([A-Za-z0-9_-]+)(?::download)?$`)

// download fetches a generated video, following redirects, and refuses more
// than MaxVideoBytes. A Files API URI is rebuilt on the configured base URL,
// as google.golang.org/genai does (only the file id is kept), so behind a
// proxy (GEMINI_BASE_URL) the download goes through the proxy with the key,
// and the key goes to no other origin. Any other URI is fetched as it is,
// with the key only on the API's own origin. The URI never reaches a log or
// an error, since it is good for two days.
func (p *Provider) download(ctx context.Context, rawURI string) ([]byte, error) {
	u, err := url.Parse(rawURI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, badResponse("video uri is not an http(s) URL")
	}
	if m := filesDownload.FindStringSubmatch(u.Path); m != nil && p.base != nil {
		if u, err = url.Parse(p.baseURL + "/v1beta/files/" + m[1] + ":download?alt=media"); err != nil {
			return nil, badResponse("video uri: %v", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, badResponse("video uri: %v", err)
	}
	if p.sameOrigin(u) {
		req.Header.Set(keyHeader, p.key)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, p.redactErr(transportFailure(ctx, err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		pe := badResponse("video download: HTTP %d (expired or deleted)", resp.StatusCode)
		pe.Status = resp.StatusCode
		return nil, pe
	case resp.StatusCode != http.StatusOK:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, p.configProblem(classifyHTTP(resp.StatusCode, resp.Header, body), "video download")
	case resp.ContentLength > p.maxVideo:
		return nil, badResponse("video exceeds size cap of %d bytes (Content-Length %d)", p.maxVideo, resp.ContentLength)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, p.maxVideo+1))
	if err != nil {
		return nil, p.redactErr(transportFailure(ctx, err))
	}
	if int64(len(data)) > p.maxVideo {
		return nil, badResponse("video exceeds size cap of %d bytes", p.maxVideo)
	}
	return data, nil
}

// Operation error codes are gRPC canonical codes, not HTTP statuses
// (docs/PROVIDERS.md §2.2).
const (
	rpcInvalidArgument   = 3
	rpcResourceExhausted = 8
	rpcUnavailable       = 14
)

// operationFailure classifies a finished operation's error. The job is over
// whatever the code (Final: polling it again cannot help), but the code
// says what a new job may expect: RESOURCE_EXHAUSTED is a rate limit and
// UNAVAILABLE a passing outage, both worth a new job later (Generate starts
// one at once when the budget allows); INVALID_ARGUMENT is a request we
// built wrong, a configuration problem; anything else is the provider's
// failure.
func (p *Provider) operationFailure(name string, code int, message string) *tryon.ProviderError {
	pe := &tryon.ProviderError{Provider: Name, Final: true,
		Detail: fmt.Sprintf("operation failed: code %d: %s", code, truncate(message, 300))}
	switch code {
	case rpcResourceExhausted:
		pe.Kind, pe.Message = tryon.FailRateLimited, "the provider is rate limiting requests; try again later"
	case rpcUnavailable:
		pe.Kind, pe.Message = tryon.FailUnavailable, "the provider is unavailable; try again later"
	case rpcInvalidArgument:
		pe.Kind, pe.Message = tryon.FailInvalidRequest, "the provider rejected the request"
		return p.configProblem(pe, name)
	default:
		pe.Kind, pe.Message = tryon.FailBadResponse, "the provider failed to make the video"
	}
	return p.redactErr(pe)
}

// minVideoAttempt is the time a new Veo job needs to have a chance.
const minVideoAttempt = 30 * time.Second

// generateVideo is the synchronous path: a job (Start, then Poll until it
// is done), and a new job when one ends rate limited or unavailable, while
// the budget leaves room for it.
func (p *Provider) generateVideo(ctx context.Context, req tryon.ProviderRequest) (*tryon.Result, error) {
	policy := p.retry
	policy.MinAttempt = minVideoAttempt
	return retry.Do(ctx, policy,
		func(ctx context.Context) (*tryon.Result, error) { return p.runVideoJob(ctx, req) },
		func(err error) retry.Verdict {
			var pe *tryon.ProviderError
			if errors.As(err, &pe) && pe.Final && (pe.Kind == tryon.FailRateLimited || pe.Kind == tryon.FailUnavailable) {
				return retry.Verdict{Retry: true, After: pe.RetryAfter}
			}
			return retry.Verdict{}
		},
		func(err error, attempt int, wait time.Duration) {
			p.log.Warn("gemini: the video job failed; starting a new one", "attempt", attempt, "wait", wait, "error", err)
		})
}

// runVideoJob starts one Veo job and polls it every PollInterval until the
// video is ready, the operation fails, or ctx ends.
func (p *Provider) runVideoJob(ctx context.Context, req tryon.ProviderRequest) (*tryon.Result, error) {
	op, err := p.Start(ctx, req)
	if err != nil {
		return nil, err
	}
	wait := p.pollInterval
	for {
		if tryon.Sleep(ctx, wait) != nil {
			pe := transportFailure(ctx, ctx.Err())
			pe.Message = "the video was not ready in time"
			pe.Detail = "operation " + op + " still running: " + pe.Detail
			return nil, pe
		}
		res, err := p.Poll(ctx, op)
		var pe *tryon.ProviderError
		switch {
		case err == nil && res != nil:
			return res, nil
		case err == nil:
			wait = p.pollInterval
		case errors.As(err, &pe) && !pe.Final && (pe.Kind == tryon.FailRateLimited || pe.Kind == tryon.FailUnavailable):
			// A failed poll says nothing about the job; ask again later.
			wait = max(p.pollInterval, pe.RetryAfter)
		default:
			return nil, err
		}
	}
}
