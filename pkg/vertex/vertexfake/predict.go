package vertexfake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"slices"
	"strings"
)

// predictRequest is the Virtual Try-On body the fake accepts; unknown
// fields are refused, as Vertex refuses them.
type predictRequest struct {
	Instances []struct {
		PersonImage   *imageHolder  `json:"personImage"`
		ProductImages []imageHolder `json:"productImages"`
		Prompt        string        `json:"prompt"`
	} `json:"instances"`
	Parameters struct {
		SampleCount      int    `json:"sampleCount"`
		BaseSteps        int    `json:"baseSteps"`
		Seed             *int64 `json:"seed"`
		AddWatermark     *bool  `json:"addWatermark"`
		PersonGeneration string `json:"personGeneration"`
		SafetySetting    string `json:"safetySetting"`
		StorageURI       string `json:"storageUri"`
		OutputOptions    *struct {
			MIMEType           string `json:"mimeType"`
			CompressionQuality int    `json:"compressionQuality"`
		} `json:"outputOptions"`
	} `json:"parameters"`
}

type imageHolder struct {
	Image struct {
		BytesBase64Encoded string `json:"bytesBase64Encoded"`
		GCSURI             string `json:"gcsUri"`
	} `json:"image"`
}

// Model is the model the fake serves.
const Model = "virtual-try-on-001"

// OutputColor fills the fake's outputs; the product image is drawn over
// the middle, so a test can tell the output from the person.
var OutputColor = color.RGBA{0x26, 0x46, 0x53, 0xff}

func (s *Server) handlePredict(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	s.mu.Lock()
	s.predicts = append(s.predicts, body)
	sc := s.scenario
	authorized := s.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	s.mu.Unlock()
	if !authorized || sc == Unauthorize {
		writeStatus(w, http.StatusUnauthorized, "UNAUTHENTICATED",
			"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	model, ok := strings.CutSuffix(r.PathValue("call"), ":predict")
	if !ok || model != Model {
		writeStatus(w, http.StatusNotFound, "NOT_FOUND", "Publisher Model `projects/"+r.PathValue("project")+"/locations/"+
			r.PathValue("location")+"/publishers/google/models/"+r.PathValue("call")+"` not found.")
		return
	}
	if r.PathValue("project") != Project {
		writeStatus(w, http.StatusForbidden, "PERMISSION_DENIED", "Permission 'aiplatform.endpoints.predict' denied on resource.")
		return
	}
	var req predictRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}
	person, msg := s.check(&req)
	if msg != "" {
		writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg)
		return
	}
	switch sc {
	case Invalid:
		writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Image editing failed with the following error: No person detected in the person image.")
		return
	case Quota:
		writeStatus(w, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED",
			"Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: virtual-try-on.")
		return
	case Unavailable:
		writeStatus(w, http.StatusServiceUnavailable, "UNAVAILABLE", "The service is currently unavailable.")
		return
	case NoPredicts:
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	case Filtered:
		writeJSON(w, http.StatusOK, map[string]any{"predictions": []any{map[string]string{
			"raiFilteredReason": "Your current safety filter threshold filtered out the generated image. Support codes: 12345678"}}})
		return
	}
	mime := "image/png"
	if o := req.Parameters.OutputOptions; o != nil && o.MIMEType != "" {
		mime = o.MIMEType
	}
	// Virtual Try-On answers at the person photo's size.
	// sampleCount samples (1 when absent), sample i a shade lighter than
	// OutputColor, so a test can tell them apart.
	var predictions []any
	for i := range max(req.Parameters.SampleCount, 1) {
		if sc == PartlyFiltered && i > 0 {
			predictions = append(predictions, map[string]string{
				"raiFilteredReason": "Your current safety filter threshold filtered out the generated image. Support codes: 12345678"})
			continue
		}
		predictions = append(predictions, map[string]string{
			"mimeType": mime, "bytesBase64Encoded": base64.StdEncoding.EncodeToString(sample(person.Bounds(), mime, i))})
	}
	writeJSON(w, http.StatusOK, map[string]any{"predictions": predictions})
}

// sample encodes sample i: the person photo's size, filled with
// OutputColor lightened by 40 per sample, far enough for the samples to
// stay apart when encoded as JPEG.
func sample(b image.Rectangle, mime string, i int) []byte {
	out := image.NewRGBA(b)
	c := OutputColor
	c.R += uint8(i * 40)
	for j := 0; j < len(out.Pix); j += 4 {
		out.Pix[j], out.Pix[j+1], out.Pix[j+2], out.Pix[j+3] = c.R, c.G, c.B, 0xff
	}
	var buf bytes.Buffer
	if mime == "image/jpeg" {
		_ = jpeg.Encode(&buf, out, &jpeg.Options{Quality: 90})
	} else {
		_ = png.Encode(&buf, out)
	}
	return buf.Bytes()
}

// check validates a request as the model's documentation describes it and
// returns the decoded person image, or the INVALID_ARGUMENT message.
func (s *Server) check(req *predictRequest) (image.Image, string) {
	if len(req.Instances) != 1 {
		return nil, "Exactly one instance is supported."
	}
	in := req.Instances[0]
	if in.PersonImage == nil {
		return nil, "personImage is required."
	}
	if len(in.ProductImages) != 1 {
		return nil, "Exactly one productImage is supported."
	}
	person, ok := decodeImage(in.PersonImage.Image.BytesBase64Encoded)
	if !ok {
		return nil, "Unable to decode the person image: only PNG and JPEG are supported."
	}
	if _, ok := decodeImage(in.ProductImages[0].Image.BytesBase64Encoded); !ok {
		return nil, "Unable to decode the product image: only PNG and JPEG are supported."
	}
	p := req.Parameters
	switch {
	case p.SampleCount < 0 || p.SampleCount > 4:
		return nil, "sampleCount must be between 1 and 4."
	case p.Seed != nil && (p.AddWatermark == nil || *p.AddWatermark):
		return nil, "Seed is not supported when addWatermark is enabled."
	case p.PersonGeneration != "" && !slices.Contains([]string{"dont_allow", "allow_adult", "allow_all"}, p.PersonGeneration):
		return nil, "Invalid personGeneration: " + p.PersonGeneration
	case p.SafetySetting != "" && !slices.Contains([]string{"block_low_and_above", "block_medium_and_above", "block_only_high", "block_none"}, p.SafetySetting):
		return nil, "Invalid safetySetting: " + p.SafetySetting
	case p.OutputOptions != nil && p.OutputOptions.MIMEType != "" && p.OutputOptions.MIMEType != "image/png" && p.OutputOptions.MIMEType != "image/jpeg":
		return nil, "Unsupported output mimeType: " + p.OutputOptions.MIMEType
	}
	return person, ""
}

func decodeImage(b64 string) (image.Image, bool) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, false
	}
	m, format, err := image.Decode(bytes.NewReader(raw))
	if err != nil || (format != "png" && format != "jpeg") {
		return nil, false
	}
	return m, true
}
