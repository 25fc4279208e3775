package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// MaxBodyBytes is the largest request body accepted: 4 MiB, below Vercel's
// 4.5 MB limit, so an oversized body gets our JSON 413, not the platform's.
const MaxBodyBytes = 4 << 20

// decode reads a JSON request body into v: the one decoder of the API. It
// refuses other content types (415), bodies over MaxBodyBytes (413), and
// malformed JSON, wrong types and unknown fields (400, naming the field). It
// returns the SHA-256 of the body's canonical form (the same JSON whatever
// its key order and whitespace), which identifies the request for
// Idempotency-Key.
func decode(r *http.Request, v any) (hash []byte, err error) {
	hash, hold, err := decodeHeld(nil, r, v)
	hold.release()
	return hash, err
}

// decodeHeld is decode for a request that keeps what it decoded in memory
// after decode returns: POST /generate's inline images, until they are
// normalised. A body larger than smallBody is read only once it has room in
// the process's body budget (body_admission.go), which the caller gives
// back with hold.release when it no longer holds the images (hold is nil
// for a small body; release on nil does nothing). On error nothing is held.
// w, when not nil, is the request's writer, through which a body admitted
// after a wait gets a fresh read deadline.
func decodeHeld(w http.ResponseWriter, r *http.Request, v any) (hash []byte, hold *bodyHold, err error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, nil, tryon.Errorf(tryon.CodeUnsupportedMediaType, "the request body must be JSON, sent with Content-Type: application/json")
	}
	if r.ContentLength > MaxBodyBytes {
		return nil, nil, errTooLarge
	}
	body, held, err := readBody(bodies, w, r)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			held.release()
		}
	}()
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil, tryon.Errorf(tryon.CodeInvalidRequest, "the request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, nil, decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, tryon.Errorf(tryon.CodeInvalidRequest, "the request body must hold one JSON object and nothing after it")
	}
	if err := exactFieldNames(body, v); err != nil {
		return nil, nil, err
	}
	hash, err = canonicalHash(body)
	if err != nil {
		return nil, nil, err
	}
	return hash, held, nil
}

// readBody reads a request body of at most MaxBodyBytes. The first
// smallBody bytes are read at once; a body that goes on waits for its size
// (as declared, or MaxBodyBytes when it is sent chunked) in the body budget
// before the rest is read, into a buffer of that size. The server's read
// timeout counts from the request's start, so a body that waited gets a
// fresh one through w (when not nil) to be read in.
func readBody(gate *bodyGate, w http.ResponseWriter, r *http.Request) ([]byte, *bodyHold, error) {
	unreadable := tryon.Errorf(tryon.CodeInvalidRequest, "the request body could not be read")
	limited := io.LimitReader(r.Body, MaxBodyBytes+1)
	head, err := io.ReadAll(io.LimitReader(limited, smallBody+1))
	if err != nil {
		return nil, nil, unreadable
	}
	if len(head) <= smallBody {
		return head, nil, nil
	}
	size := r.ContentLength
	if size < int64(len(head)) {
		size = MaxBodyBytes
	}
	ctx, cancel := bodyWaitContext(r)
	hold, err := gate.admit(ctx, size)
	cancel()
	if err != nil {
		return nil, nil, err
	}
	if w != nil {
		// Not every writer can (a test's recorder cannot): then the
		// server's own timeout stands.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyReadTime))
	}
	// One more byte than the size, and MinRead spare, so that reading to
	// the end (or one byte too far) never grows the buffer.
	buf := bytes.NewBuffer(make([]byte, 0, size+1+bytes.MinRead))
	buf.Write(head)
	if _, err := buf.ReadFrom(limited); err != nil {
		hold.release()
		return nil, nil, unreadable
	}
	if buf.Len() > MaxBodyBytes {
		hold.release()
		return nil, nil, errTooLarge
	}
	return buf.Bytes(), hold, nil
}

// bodyWaitContext bounds a large body's wait for room: it ends with the
// request, or once three quarters of the request's time are spent (its
// function's maxDuration, or the platform's deadline when that is sooner),
// so that the request still has time to do its work.
func bodyWaitContext(r *http.Request) (context.Context, context.CancelFunc) {
	st := stateOf(r)
	var end time.Time
	if b := st.route.Budget(); b > 0 {
		end = st.start.Add(b)
	}
	if d := platformDeadline(r); !d.IsZero() && (end.IsZero() || d.Before(end)) {
		end = d
	}
	if end.IsZero() {
		return context.WithCancel(r.Context())
	}
	return context.WithDeadline(r.Context(), st.start.Add(end.Sub(st.start)*3/4))
}

// exactFieldNames refuses a top-level field whose name matches one of v's
// fields only when case is ignored: encoding/json accepts {"PROMPT": ...}
// for a field tagged "prompt", but the API's field names are exact, so a
// mistyped name surfaces as an unknown field instead of silently working.
// Fields are checked in the order the body gives them.
func exactFieldNames(body []byte, v any) error {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	known := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" {
			name = t.Field(i).Name
		}
		known[name] = true
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil // not an object: Decode has already said what is wrong
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return decodeError(err)
		}
		if name, _ := tok.(string); !known[name] {
			return tryon.Invalid(tryon.FieldError{Field: name, Message: "is not a known field"})
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return decodeError(err)
		}
	}
	return nil
}

var errTooLarge = tryon.Errorf(tryon.CodePayloadTooLarge, "the request body is larger than 4 MiB (4194304 bytes)")

// decodeError turns encoding/json's errors into invalid_request errors that
// name the field by its JSON name.
func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return tryon.Errorf(tryon.CodeInvalidRequest, "malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return tryon.Errorf(tryon.CodeInvalidRequest, "malformed JSON: the body ends too early")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return tryon.Errorf(tryon.CodeInvalidRequest, "the request body must be a JSON object")
		}
		return tryon.Invalid(tryon.FieldError{Field: typ.Field, Message: "must be " + jsonKind(typ.Type.Kind().String())})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return tryon.Invalid(tryon.FieldError{Field: field, Message: "is not a known field"})
	}
	return tryon.Errorf(tryon.CodeInvalidRequest, "malformed JSON")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "float64":
		return "an integer"
	case "bool":
		return "a boolean"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	case "ptr":
		return "of another type"
	}
	return fmt.Sprintf("a %s", goKind)
}

// canonicalHash hashes the JSON value of body re-encoded with sorted keys
// and no whitespace, so that equivalent requests hash alike. A top-level
// field sent as null is dropped first: an optional field's null means
// absent, so it must not make the same request look different.
func canonicalHash(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, decodeError(err)
	}
	if obj, ok := v.(map[string]any); ok {
		for k, val := range obj {
			if val == nil {
				delete(obj, k)
			}
		}
	}
	canon, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("canonical JSON: %w", err)
	}
	h := sha256.Sum256(canon)
	return h[:], nil
}
