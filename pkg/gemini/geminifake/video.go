package geminifake

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// videoRequest is a predictLongRunning body after decodeStrict.
type videoRequest struct {
	Instances []struct {
		Prompt string `json:"prompt"`
		Image  *struct {
			BytesBase64Encoded string `json:"bytesBase64Encoded"`
			MimeType           string `json:"mimeType"`
		} `json:"image"`
		LastFrame       json.RawMessage `json:"lastFrame"`
		ReferenceImages json.RawMessage `json:"referenceImages"`
		Video           json.RawMessage `json:"video"`
	} `json:"instances"`
	Parameters *struct {
		AspectRatio      string          `json:"aspectRatio"`
		Resolution       string          `json:"resolution"`
		DurationSeconds  json.RawMessage `json:"durationSeconds"`
		NegativePrompt   string          `json:"negativePrompt"`
		PersonGeneration string          `json:"personGeneration"`
		SampleCount      *int            `json:"sampleCount"`
		EnhancePrompt    *bool           `json:"enhancePrompt"`
		Seed             json.RawMessage `json:"seed"`
	} `json:"parameters"`
}

// videoOp is one Veo operation. It lives in the Server, keyed by id, so
// every client polling it sees the same progress.
type videoOp struct {
	id, model  string
	scenario   string // an outcome token, or "" for success
	errorCode  int    // [veo:error_code=N], or 0
	pollsLeft  int    // done:false answers still to give
	fileID     string
	fileSecret string // stands in for the signature of a storage URL
}

func (o *videoOp) name() string { return "models/" + o.model + "/operations/" + o.id }

func (s *Server) predictLongRunning(w http.ResponseWriter, r *http.Request, model string) {
	if !s.authorized(r) {
		writeRaw(w, http.StatusBadRequest, badKeyBody)
		return
	}
	if !strings.HasPrefix(model, "veo-") {
		writeNotFoundModel(w, model, "predictLongRunning")
		return
	}
	var req videoRequest
	body, _ := io.ReadAll(r.Body) // record has buffered it
	if err := decodeStrict(body, &req); err != nil {
		writeInvalid(w, "Invalid JSON payload received. %v", err)
		return
	}
	if len(req.Instances) != 1 {
		writeInvalid(w, "Exactly one instance is required, got %d.", len(req.Instances))
		return
	}
	inst := req.Instances[0]
	if strings.TrimSpace(inst.Prompt) == "" && inst.Image == nil {
		writeInvalid(w, "A prompt or an image is required.")
		return
	}
	if img := inst.Image; img != nil {
		if !inputTypes[img.MimeType] {
			writeInvalid(w, "Unsupported MIME type %q for instances[0].image.", img.MimeType)
			return
		}
		if data, err := decodeBytes(img.BytesBase64Encoded); err != nil || len(data) == 0 {
			writeInvalid(w, "Invalid value at 'instances[0].image.bytes_base64_encoded' (TYPE_BYTES), Base64 decoding failed")
			return
		}
	}
	if p := req.Parameters; p != nil {
		if p.AspectRatio != "" && p.AspectRatio != "16:9" && p.AspectRatio != "9:16" {
			writeInvalid(w, "Unsupported aspect ratio %q. Supported values are 16:9 and 9:16.", p.AspectRatio)
			return
		}
		if p.Resolution != "" && p.Resolution != "720p" && p.Resolution != "1080p" {
			writeInvalid(w, "Unsupported resolution %q.", p.Resolution)
			return
		}
		if d := strings.Trim(string(p.DurationSeconds), `"`); d != "" && d != "4" && d != "6" && d != "8" {
			writeInvalid(w, "Unsupported duration %s seconds. Supported values are 4, 6 and 8.", d)
			return
		}
		if p.SampleCount != nil && (*p.SampleCount < 1 || *p.SampleCount > 4) {
			writeInvalid(w, "sampleCount must be between 1 and 4.")
			return
		}
	}
	if s.failure(w, r, RoutePredictLongRunning, model, inst.Prompt) {
		return
	}
	op := &videoOp{
		id:         newID(),
		model:      model,
		scenario:   firstToken(inst.Prompt, outcomeTokens),
		pollsLeft:  pollsBeforeDone(inst.Prompt),
		errorCode:  veoErrorCode(inst.Prompt),
		fileID:     newID(),
		fileSecret: newID(),
	}
	s.mu.Lock()
	s.ops[op.id] = op
	s.files[op.fileID] = op
	s.mu.Unlock()
	writeJSON(w, map[string]any{"name": op.name()})
}

func (s *Server) handleOperation(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		writeRaw(w, http.StatusBadRequest, badKeyBody)
		return
	}
	s.mu.Lock()
	op, ok := s.ops[r.PathValue("id")]
	if ok && op.model != r.PathValue("model") {
		ok = false
	}
	running := false
	var scenario string
	errorCode := 0
	if ok {
		scenario, errorCode = op.scenario, op.errorCode
		if op.pollsLeft > 0 {
			op.pollsLeft--
			running = true
		}
	}
	s.mu.Unlock()
	if !ok {
		writeStatus(w, http.StatusNotFound, "NOT_FOUND", "Operation not found.")
		return
	}
	if running {
		writeJSON(w, map[string]any{"name": op.name(), "done": false})
		return
	}
	const responseType = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"
	switch {
	case errorCode != 0:
		writeJSON(w, map[string]any{"name": op.name(), "done": true,
			"error": map[string]any{"code": errorCode, "message": veoErrorMessages[errorCode]}})
		return
	}
	switch scenario {
	case TokenVeoError:
		writeJSON(w, map[string]any{"name": op.name(), "done": true,
			"error": map[string]any{"code": 13, "message": "internal error"}})
	case TokenVeoFiltered:
		writeJSON(w, map[string]any{"name": op.name(), "done": true, "response": map[string]any{
			"@type": responseType,
			"generateVideoResponse": map[string]any{
				"raiMediaFilteredCount": 1,
				"raiMediaFilteredReasons": []string{"Your prompt conflicted with our safety policies. " +
					"Please try rephrasing your prompt. You will not be charged for blocked videos."},
			},
		}})
	default:
		uri := s.URL() + "/v1beta/files/" + op.fileID + ":download?alt=media"
		writeJSON(w, map[string]any{"name": op.name(), "done": true, "response": map[string]any{
			"@type": responseType,
			"generateVideoResponse": map[string]any{
				"generatedSamples": []any{map[string]any{"video": map[string]any{"uri": uri}}},
			},
		}})
	}
}

// veoErrorMessages are the words Google's operations use for some gRPC codes.
var veoErrorMessages = map[int]string{
	1:  cancelledMessage, // CANCELLED (cancel.go)
	3:  "Unsupported parameter combination for this model.",
	8:  "Resource has been exhausted (e.g. check quota).",
	14: "The service is currently unavailable.",
}

// handleDownload serves files/{id}:download?alt=media: it needs the key and
// redirects to storage, as Google's does.
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		writeRaw(w, http.StatusBadRequest, badKeyBody)
		return
	}
	id, isDownload := strings.CutSuffix(r.PathValue("file"), ":download")
	s.mu.Lock()
	op, ok := s.files[id]
	s.mu.Unlock()
	if !isDownload || r.URL.Query().Get("alt") != "media" || !ok || op.scenario == TokenVeoDownload404 {
		writeStatus(w, http.StatusNotFound, "NOT_FOUND", "File files/"+id+" was not found or has expired.")
		return
	}
	http.Redirect(w, r, "/storage/videos/"+id+".mp4?sig="+op.fileSecret, http.StatusFound)
}

// handleStorage serves the video bytes behind the redirect. Like a signed
// storage URL it needs no key, only the signature.
func (s *Server) handleStorage(w http.ResponseWriter, r *http.Request) {
	id, _ := strings.CutSuffix(r.PathValue("file"), ".mp4")
	s.mu.Lock()
	op, ok := s.files[id]
	size := 16 << 10
	if ok && op.scenario == TokenVeoBig {
		size = s.bigVideo
	}
	s.mu.Unlock()
	if !ok || r.URL.Query().Get("sig") != op.fileSecret {
		http.Error(w, "AccessDenied", http.StatusForbidden)
		return
	}
	data := MP4Bytes(size)
	w.Header().Set("Content-Type", "video/mp4")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// MP4Bytes returns n bytes (at least 40) that start like an MP4 file: an
// ftyp box, then an mdat box filling the rest. It is not playable; it is
// enough for content sniffing and size checks.
func MP4Bytes(n int) []byte {
	n = max(n, 40)
	b := make([]byte, n)
	binary.BigEndian.PutUint32(b[0:], 32)
	copy(b[4:], "ftypisom")
	binary.BigEndian.PutUint32(b[12:], 0x200)
	copy(b[16:], "isomiso2avc1mp41")
	binary.BigEndian.PutUint32(b[32:], uint32(n-32))
	copy(b[36:], "mdat")
	for i := 40; i < n; i++ {
		b[i] = byte(i * 7)
	}
	return b
}
