package httpapi

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/tryonhq/tryon/pkg/generation"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// FuzzDecodeGenerateRequest feeds POST /generate bodies to the decoder and
// the validator: they must never panic, and every refusal must be a 4xx
// coded error.
func FuzzDecodeGenerateRequest(f *testing.F) {
	for _, seed := range []string{
		`{"prompt":"a dress"}`,
		`{"prompt":"x","service":"veo3","duration_seconds":6,"metadata":{"a":"b"}}`,
		`{"prompt":"x","person_image":"data:image/png;base64,AAAA","garment_image":"https://a.example/g.png"}`,
		`{"prompt":`, `[]`, `null`, `{"prompt":"x"} {}`, `{"width":1e400}`, `{"metadata":{"k":[1]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/generate", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var req generation.Request
		hash, err := decode(r, &req)
		if err == nil {
			if len(hash) != 32 {
				t.Fatalf("hash of %d bytes", len(hash))
			}
			_, err = req.Validate()
		}
		if err == nil {
			return
		}
		var e *tryon.Error
		if !errors.As(err, &e) {
			t.Fatalf("uncoded error %v for %q", err, body)
		}
		if s := StatusOf(e.Code); s < 400 || s > 499 {
			t.Fatalf("status %d for %q: %v", s, body, err)
		}
	})
}

func TestCanonicalHashIgnoresOrderAndSpace(t *testing.T) {
	a, _ := canonicalHash([]byte(`{"prompt":"x","width":512,"metadata":{"b":"2","a":"1"}}`))
	b, _ := canonicalHash([]byte("{ \"metadata\": {\"a\":\"1\",\"b\":\"2\"},\n \"width\": 512, \"prompt\": \"x\" }"))
	c, _ := canonicalHash([]byte(`{"prompt":"x","width":513,"metadata":{"b":"2","a":"1"}}`))
	if !bytes.Equal(a, b) {
		t.Fatal("the same request hashes differently")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different requests hash alike")
	}
}
