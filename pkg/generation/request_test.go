package generation

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/tryon"
)

const pngURL = "data:image/png;base64,iVBORw0KGgo="

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		body   string
		fields []string // the fields named in details, in order; nil means valid
	}{
		{"Minimal", `{"prompt":"a dress"}`, nil},
		{"Full", `{"prompt":"a dress","service":"banana-pro","width":768,"height":1024,"person_image":"https://a.example/p.jpg","garment_image":"` + pngURL + `","metadata":{"sku":"123"}}`, nil},
		{"Video", `{"prompt":"a dress","service":"veo3","duration_seconds":6}`, nil},
		{"MissingPrompt", `{}`, []string{"prompt"}},
		{"NullPrompt", `{"prompt":null}`, []string{"prompt"}},
		{"BlankPrompt", `{"prompt":"   "}`, []string{"prompt"}},
		{"LongPrompt", `{"prompt":"` + strings.Repeat("é", 4001) + `"}`, []string{"prompt"}},
		{"PromptAtLimit", `{"prompt":"` + strings.Repeat("é", 4000) + `"}`, nil},
		{"NULInPrompt", `{"prompt":"a\u0000b"}`, []string{"prompt"}},
		{"UnknownService", `{"prompt":"x","service":"dalle"}`, []string{"service"}},
		{"TooNarrow", `{"prompt":"x","width":63}`, []string{"width"}},
		{"TooTall", `{"prompt":"x","height":4097}`, []string{"height"}},
		{"PersonWithoutGarment", `{"prompt":"x","person_image":"https://a.example/p.jpg"}`, []string{"garment_image"}},
		{"GarmentWithoutPerson", `{"prompt":"x","garment_image":"https://a.example/p.jpg"}`, []string{"person_image"}},
		{"FTPImage", `{"prompt":"x","person_image":"ftp://a/p.jpg","garment_image":"https://a.example/g.jpg"}`, []string{"person_image"}},
		{"GIFDataURL", `{"prompt":"x","person_image":"data:image/gif;base64,R0lG","garment_image":"https://a.example/g.jpg"}`, []string{"person_image"}},
		{"DurationOnImage", `{"prompt":"x","duration_seconds":8}`, []string{"duration_seconds"}},
		{"OddDuration", `{"prompt":"x","service":"veo3","duration_seconds":5}`, []string{"duration_seconds"}},
		{"TooMuchMetadata", `{"prompt":"x","metadata":{` + metadataPairs(17) + `}}`, []string{"metadata"}},
		{"LongMetadataKey", `{"prompt":"x","metadata":{"` + strings.Repeat("k", 41) + `":"v"}}`, []string{"metadata." + strings.Repeat("k", 41)}},
		{"LongMetadataValue", `{"prompt":"x","metadata":{"k":"` + strings.Repeat("v", 501) + `"}}`, []string{"metadata.k"}},
		{"MetadataNotString", `{"prompt":"x","metadata":{"k":true}}`, []string{"metadata.k"}},
		{"EverythingWrong", `{"service":"x","width":1,"height":99999}`, []string{"height", "prompt", "service", "width"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r Request
			if err := json.Unmarshal([]byte(tc.body), &r); err != nil {
				t.Fatal(err)
			}
			spec, err := r.Validate()
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			e, ok := err.(*tryon.Error)
			if !ok || e.Code != tryon.CodeInvalidRequest {
				t.Fatalf("got %v (%+v), want invalid_request", err, spec)
			}
			var got []string
			for _, d := range e.Details {
				got = append(got, d.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("details name %v, want %v (%+v)", got, tc.fields, e.Details)
			}
		})
	}
}

func TestValidateAppliesDefaults(t *testing.T) {
	var r Request
	_ = json.Unmarshal([]byte(`{"prompt":"  a dress  ","service":"veo3"}`), &r)
	s, err := r.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if s.Prompt != "a dress" || s.Width != 1024 || s.Height != 1024 || s.DurationSeconds != 8 || s.Metadata == nil {
		t.Fatalf("got %+v", s)
	}
	var plain Request
	_ = json.Unmarshal([]byte(`{"prompt":"x"}`), &plain)
	if s, _ := plain.Validate(); s.Service != tryon.ServiceBanana || s.DurationSeconds != 0 {
		t.Fatalf("got %+v", s)
	}
}

func metadataPairs(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, `"k`+strings.Repeat("x", i)+`":"v"`)
	}
	return strings.Join(parts, ",")
}
