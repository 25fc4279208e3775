package geminifake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// decodeStrict decodes a request body the way Google's proto-JSON parser
// does for our purposes: snake_case and camelCase names are the same field,
// and a name the API does not know is an error. It rewrites every key to
// camelCase first so that one set of structs serves both spellings.
func decodeStrict(body []byte, v any) error {
	var generic any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return err
	}
	camel, err := json.Marshal(camelKeys(generic))
	if err != nil {
		return err
	}
	dec = json.NewDecoder(bytes.NewReader(camel))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// camelKeys rewrites the object keys of a decoded JSON value to camelCase.
func camelKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			out[snakeToCamel(k)] = camelKeys(val)
		}
		return out
	case []any:
		for i := range t {
			t[i] = camelKeys(t[i])
		}
		return t
	}
	return v
}

func snakeToCamel(s string) string {
	if !strings.Contains(s, "_") {
		return s
	}
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// decodeBytes decodes a proto-JSON bytes field, which may use either base64
// alphabet, padded or not.
func decodeBytes(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}
