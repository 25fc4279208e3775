package falfake

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// Scenario is a failure (or unusual success) a test asks for by putting its
// token, e.g. "[fal:503]", anywhere in the prompt. A prompt without a known
// token gets a normal answer.
type Scenario string

// The scenarios the fake knows, by the token that selects them.
const (
	Normal        Scenario = ""
	Unauthorized  Scenario = "[fal:401]"            // 401, fal's "No user found for Key ID and Secret"
	Forbidden     Scenario = "[fal:403]"            // 403, account under an admin lock
	LockedBalance Scenario = "[fal:locked_balance]" // 403, account locked for an exhausted balance
	Validation    Scenario = "[fal:422]"            // 422, typed validation error list
	ContentPolicy Scenario = "[fal:content_policy]" // 422, content_policy_violation
	RateLimited   Scenario = "[fal:429]"            // 429, with Server.RetryAfter
	InternalError Scenario = "[fal:500]"            // 500, runner_server_error
	Unavailable   Scenario = "[fal:503]"            // 503, runner_scheduling_failure
	Malformed     Scenario = "[fal:malformed]"      // 200 with truncated JSON
	NoImages      Scenario = "[fal:no_images]"      // 200 with an empty images list
	Partial       Scenario = "[fal:partial]"        // 200 with only the first of the images asked for (the others filtered)
	DataURL       Scenario = "[fal:data_url]"       // 200, images[0].url is a data: URI
	MissingFile   Scenario = "[fal:missing_file]"   // 200, images[0].url answers 404
	Flaky         Scenario = "[fal:flaky]"          // 503 the first time a prompt is seen, then success
	Hang          Scenario = "[fal:hang]"           // never answers; released when the client goes away
	// NeedsRetry answers the first time a prompt is seen with a 400 that
	// the app marks X-Fal-Needs-Retry: 1 (retry although the status says
	// not to), then succeeds.
	NeedsRetry Scenario = "[fal:needs_retry]"
	// NoRetry is a 503 marked X-Fal-Needs-Retry: 0 (do not retry although
	// the status would).
	NoRetry Scenario = "[fal:no_retry]"
)

// Scenarios lists every token, for tests that walk them all.
var Scenarios = []Scenario{
	Unauthorized, Forbidden, LockedBalance, Validation, ContentPolicy, RateLimited,
	InternalError, Unavailable, Malformed, NoImages, Partial, DataURL, MissingFile, Flaky, Hang, NeedsRetry, NoRetry,
}

// ScenarioOf returns the first known token in prompt, or Normal.
func ScenarioOf(prompt string) Scenario {
	best, at := Normal, -1
	for _, sc := range Scenarios {
		if i := strings.Index(prompt, string(sc)); i >= 0 && (at < 0 || i < at) {
			best, at = sc, i
		}
	}
	return best
}

// platformFailure answers the failures fal's gateway and runners produce before
// a model sees the input; it reports whether it answered.
func (s *Server) platformFailure(w http.ResponseWriter, r *http.Request, sc Scenario, prompt string) bool {
	switch sc {
	case Unauthorized:
		writeDetail(w, http.StatusUnauthorized, "No user found for Key ID and Secret")
	case Forbidden:
		writeDetail(w, http.StatusForbidden, "User is locked. Reason: Admin lock. Please contact support@fal.ai")
	case LockedBalance:
		writeDetail(w, http.StatusForbidden, "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing.")
	case RateLimited:
		if s.RetryAfter != "" {
			w.Header().Set("Retry-After", s.RetryAfter)
		}
		// fal's concurrency limit asks to be retried.
		w.Header().Set("X-Fal-Needs-Retry", "1")
		writeDetail(w, http.StatusTooManyRequests, "Too many concurrent requests")
	case InternalError:
		writeRequestError(w, http.StatusInternalServerError, "runner_server_error", "Internal server error")
	case Unavailable:
		writeRequestError(w, http.StatusServiceUnavailable, "runner_scheduling_failure", "No runner could be allocated to handle the request")
	case Flaky:
		if !s.firstTime(prompt) {
			return false
		}
		writeRequestError(w, http.StatusServiceUnavailable, "runner_scheduling_failure", "No runner could be allocated to handle the request")
	case NeedsRetry:
		if !s.firstTime(prompt) {
			return false
		}
		w.Header().Set("X-Fal-Needs-Retry", "1")
		writeDetail(w, http.StatusBadRequest, "The model is warming up; the request can be sent again.")
	case NoRetry:
		w.Header().Set("X-Fal-Needs-Retry", "0")
		writeRequestError(w, http.StatusServiceUnavailable, "runner_scheduling_failure", "The app is shutting down")
	case Hang:
		// A synchronous call holds the connection for as long as the model
		// runs; this one runs until the caller gives up or the fake closes.
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
	default:
		return false
	}
	return true
}

// firstTime reports whether prompt is seen for the first time, for the
// scenarios that fail once and then succeed.
func (s *Server) firstTime(prompt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := s.flaky[prompt]
	s.flaky[prompt] = true
	return !seen
}

// writeRequestError answers with fal's infrastructure error shape: a string
// detail plus error_type, repeated in X-Fal-Error-Type.
func writeRequestError(w http.ResponseWriter, status int, errorType, detail string) {
	w.Header().Set("X-Fal-Error-Type", errorType)
	writeJSON(w, status, map[string]any{"detail": detail, "error_type": errorType})
}

// run answers a valid request: the model-level scenarios, or real images.
func (s *Server) run(w http.ResponseWriter, sc Scenario, in input, pro bool) {
	switch sc {
	case Validation:
		writeErrors(w, http.StatusUnprocessableEntity, errorItem{
			Loc:   []any{"body", "image_urls", 0},
			Msg:   "Image dimensions exceed the maximum allowed size.",
			Type:  "image_too_large",
			Ctx:   map[string]any{"max_height": 4096, "max_width": 4096},
			Input: "(the image url)",
		})
		return
	case ContentPolicy:
		writeErrors(w, http.StatusUnprocessableEntity, errorItem{
			Loc:   []any{"body", "prompt"},
			Msg:   "The content was flagged by a content checker.",
			Type:  "content_policy_violation",
			Input: in.Prompt,
		})
		return
	case Malformed:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"images": [{"url": "`))
		return
	case NoImages:
		writeJSON(w, http.StatusOK, map[string]any{
			"images":      []any{},
			"description": "I can't make that image, but I can describe it instead.",
		})
		return
	}

	width, height := outputSize(in, pro)
	ext, contentType := "png", "image/png"
	if in.OutputFormat == "jpeg" {
		ext, contentType = "jpeg", "image/jpeg"
	}
	n := max(in.NumImages, 1)
	if sc == Partial {
		n = 1
	}
	images := make([]outFile, 0, n)
	for i := range n {
		data := render(width, height, in.Prompt, i, ext)
		var url string
		switch sc {
		case DataURL:
			url = "data:" + contentType + ";base64," + base64.StdEncoding.EncodeToString(data)
		case MissingFile:
			url = s.URL() + "/files/" + s.nextName(ext)
		default:
			url = s.URL() + "/files/" + s.store(data, ext)
		}
		images = append(images, outFile{
			URL: url, ContentType: contentType, FileName: "output." + ext,
			FileSize: len(data), Width: width, Height: height,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"images": images, "description": ""})
}

// outFile is fal's File object in an answer.
type outFile struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
	FileName    string `json:"file_name"`
	FileSize    int    `json:"file_size"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
}
