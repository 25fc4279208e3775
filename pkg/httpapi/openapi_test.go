package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/generation"
	"github.com/tryonhq/tryon/pkg/httpapi"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/wire"
)

// The tests below keep public/openapi.json true: to the route table, to the
// Go types of the wire format, to the error mapping and the request limits,
// and to what a running app actually answers.

// allCodes lists the error codes of pkg/tryon/error.go; a test parses that
// file so that a new code cannot be left out of this list (and so of the
// document).
var allCodes = []tryon.Code{
	tryon.CodeInvalidRequest, tryon.CodeUnauthorized, tryon.CodeInsufficientCredits, tryon.CodeForbidden,
	tryon.CodeNotFound, tryon.CodeMethodNotAllowed, tryon.CodeIdempotencyInProgress, tryon.CodePayloadTooLarge,
	tryon.CodeUnsupportedMediaType, tryon.CodeIdempotencyMismatch, tryon.CodeContentBlocked, tryon.CodeRateLimited,
	tryon.CodeConcurrencyLimited, tryon.CodeInternal, tryon.CodeUpstreamError, tryon.CodeUpstreamUnavailable,
	tryon.CodeUnavailable, tryon.CodeGenerationTimeout, tryon.CodeGenerationFinished,
	tryon.CodeGone, tryon.CodeGenerationProcessing,
}

func TestOpenAPIDocument(t *testing.T) {
	doc := loadOpenAPI(t)

	t.Run("Version", func(t *testing.T) {
		if v, _ := doc.root["openapi"].(string); !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
			t.Fatalf("openapi %q, want 3.1.x", v)
		}
		for _, k := range []string{"info", "paths", "components"} {
			if _, ok := doc.root[k].(map[string]any); !ok {
				t.Errorf("no %s object", k)
			}
		}
	})

	t.Run("RefsResolve", func(t *testing.T) {
		walkJSON(doc.root, "#", func(at string, m map[string]any) {
			if ref, ok := m["$ref"].(string); ok {
				if _, ok := doc.resolve(ref); !ok {
					t.Errorf("%s: $ref %q does not resolve", at, ref)
				}
			}
		})
	})

	t.Run("EveryRouteDocumented", func(t *testing.T) {
		paths := asObject(doc.root["paths"])
		routes := map[string][]httpapi.Route{}
		for _, rt := range append(slices.Clone(httpapi.Routes), httpapi.MoreMethods...) {
			if rt.Path == "" || rt.Function == "cron" {
				continue
			}
			routes[rt.Path] = append(routes[rt.Path], rt)
			item := asObject(paths[rt.Path])
			op := asObject(item[strings.ToLower(rt.Method)])
			if op == nil {
				t.Errorf("%s %s is not documented", rt.Method, rt.Path)
				continue
			}
			if got, want := op["operationId"], lowerFirst(rt.Handler); got != want {
				t.Errorf("%s %s: operationId %v, want %q", rt.Method, rt.Path, got, want)
			}
			security, set := op["security"].([]any)
			switch {
			case rt.Access == httpapi.Public && (!set || len(security) != 0):
				t.Errorf("%s %s needs no key: want security: []", rt.Method, rt.Path)
			case rt.Access != httpapi.Public && set && len(security) == 0:
				t.Errorf("%s %s needs a key, but its security is empty", rt.Method, rt.Path)
			}
			if asObject(item["options"]) == nil {
				t.Errorf("%s: the CORS preflight (OPTIONS) is not documented", rt.Path)
			}
		}
		for path, v := range paths {
			rts, ok := routes[path]
			if !ok {
				t.Errorf("%s is documented but not in httpapi.Routes", path)
				continue
			}
			for method := range asObject(v) {
				served := slices.ContainsFunc(rts, func(rt httpapi.Route) bool { return strings.ToLower(rt.Method) == method })
				switch {
				case method == "parameters", method == "summary", method == "description", method == "options", served:
				default:
					t.Errorf("%s %s is documented but the route does not serve it", strings.ToUpper(method), path)
				}
			}
		}
	})

	t.Run("GenerationMatchesWire", func(t *testing.T) {
		for name, typ := range map[string]reflect.Type{
			"Generation":      reflect.TypeFor[wire.Generation](),
			"Output":          reflect.TypeFor[wire.Output](),
			"GenerationError": reflect.TypeFor[wire.Error](),
			"FieldError":      reflect.TypeFor[tryon.FieldError](),
		} {
			schema := asObject(doc.schema(name))
			all, required := jsonFields(typ)
			if got := sortedKeysOf(asObject(schema["properties"])); !slices.Equal(got, all) {
				t.Errorf("%s: properties %v, want the JSON fields of %s %v", name, got, typ, all)
			}
			if got := sortedStringsOf(schema["required"]); !slices.Equal(got, required) {
				t.Errorf("%s: required %v, want the fields without omitempty %v", name, got, required)
			}
		}
	})

	t.Run("RequestMatchesGenerationRequest", func(t *testing.T) {
		schema := asObject(doc.schema("GenerationRequest"))
		all, _ := jsonFields(reflect.TypeFor[generation.Request]())
		if got := sortedKeysOf(asObject(schema["properties"])); !slices.Equal(got, all) {
			t.Errorf("properties %v, want the JSON fields of generation.Request %v", got, all)
		}
		if schema["additionalProperties"] != false {
			t.Errorf("additionalProperties %v, want false: unknown fields are refused", schema["additionalProperties"])
		}
		props := asObject(schema["properties"])
		prop := func(path ...string) any {
			var v any = props
			for _, p := range path {
				// Defaults sit on named schemas the properties refer to
				// (Side, VideoSeconds): a property carrying one itself is
				// typed as required by openapi-typescript.
				v = doc.deref(v)[p]
			}
			return v
		}
		for _, c := range []struct {
			what string
			got  any
			want int
		}{
			{"prompt maxLength", prop("prompt", "maxLength"), generation.MaxPromptChars},
			{"width minimum", prop("width", "minimum"), generation.MinSide},
			{"width maximum", prop("width", "maximum"), generation.MaxSide},
			{"width default", prop("width", "default"), generation.DefaultSide},
			{"height minimum", prop("height", "minimum"), generation.MinSide},
			{"height maximum", prop("height", "maximum"), generation.MaxSide},
			{"height default", prop("height", "default"), generation.DefaultSide},
			{"duration_seconds default", prop("duration_seconds", "default"), generation.DefaultVideoSecs},
			{"metadata maxProperties", prop("metadata", "maxProperties"), generation.MaxMetadataPairs},
			{"metadata key maxLength", prop("metadata", "propertyNames", "maxLength"), generation.MaxMetadataKey},
			{"metadata value maxLength", prop("metadata", "additionalProperties", "maxLength"), generation.MaxMetadataValue},
		} {
			if n, ok := c.got.(json.Number); !ok || n.String() != strconv.Itoa(c.want) {
				t.Errorf("%s is %v, want %d", c.what, c.got, c.want)
			}
		}
	})

	t.Run("ErrorCodes", func(t *testing.T) {
		if got, want := codesDeclaredIn(t, filepath.Join("..", "tryon", "error.go")), codeStrings(allCodes); !slices.Equal(got, want) {
			t.Fatalf("pkg/tryon/error.go declares %v; this test lists %v", got, want)
		}
		schema := asObject(doc.schema("ErrorCode"))
		if got, want := sortedStringsOf(schema["enum"]), codeStrings(allCodes); !slices.Equal(got, want) {
			t.Errorf("ErrorCode enum %v, want %v", got, want)
		}
		statuses := asObject(schema["x-http-status"])
		for _, code := range allCodes {
			if got, want := fmt.Sprint(statuses[string(code)]), strconv.Itoa(httpapi.StatusOf(code)); got != want {
				t.Errorf("x-http-status of %s is %s, want %s", code, got, want)
			}
		}
		if len(statuses) != len(allCodes) {
			t.Errorf("x-http-status has %d codes, want %d", len(statuses), len(allCodes))
		}

		// Every error response an operation lists allows only codes of its
		// status, and every code is answered somewhere at its status
		// (method_not_allowed is answered for the methods no operation has).
		answered := map[tryon.Code]bool{tryon.CodeMethodNotAllowed: true}
		doc.operations(func(method, path string, op map[string]any) {
			for status, v := range asObject(op["responses"]) {
				n, err := strconv.Atoi(status)
				if err != nil {
					t.Errorf("%s %s: response %q is not a status code", method, path, status)
					continue
				}
				if n < 400 {
					continue
				}
				schema := asObject(asObject(asObject(doc.deref(v)["content"])["application/json"]))["schema"]
				codes := doc.codesOf(schema)
				if len(codes) == 0 {
					t.Errorf("%s %s %d: no error codes", method, path, n)
				}
				for _, code := range codes {
					answered[code] = true
					if want := httpapi.StatusOf(code); want != n {
						t.Errorf("%s %s lists %s under %d; its status is %d", method, path, code, n, want)
					}
				}
			}
		})
		for _, code := range allCodes {
			if !answered[code] {
				t.Errorf("no operation answers %s (%d)", code, httpapi.StatusOf(code))
			}
		}
	})

	t.Run("ExamplesValidate", func(t *testing.T) {
		n := 0
		walkJSON(doc.root, "#", func(at string, m map[string]any) {
			schema, hasSchema := m["schema"]
			switch {
			case hasSchema && m["examples"] != nil: // a media type object
				for name, ex := range asObject(m["examples"]) {
					n++
					for _, p := range doc.validate(schema, doc.deref(ex)["value"], at+"/examples/"+name, true) {
						t.Error(p)
					}
				}
			case hasSchema && m["example"] != nil: // a parameter or a header
				n++
				for _, p := range doc.validate(schema, m["example"], at+"/example", true) {
					t.Error(p)
				}
			case strings.HasPrefix(at, "#/components/schemas/"):
				examples, _ := m["examples"].([]any)
				for i, ex := range examples {
					n++
					for _, p := range doc.validate(m, ex, fmt.Sprintf("%s/examples/%d", at, i), true) {
						t.Error(p)
					}
				}
			}
		})
		if n < 20 {
			t.Errorf("only %d examples: every operation should show its answers", n)
		}
	})
}

// TestOpenAPIContract sends real requests to a running app and checks each
// answer against the operation and status the document lists: the body
// must have exactly the documented properties (no more, no fewer), and the
// documented headers must be there and well formed.
func TestOpenAPIContract(t *testing.T) {
	doc := loadOpenAPI(t)
	env := apptest.New(t, apptest.Options{Settings: map[string]string{"FAKE_VIDEO_LATENCY": "1m"}})
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1000, MaxConcurrent: 50})
	other := env.Tenant(apptest.TenantOptions{})
	zero := tryon.Micros(0)
	broke := env.Tenant(apptest.TenantOptions{BalanceMicros: &zero})
	slow := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1})
	busy := env.Tenant(apptest.TenantOptions{MaxConcurrent: 1})
	admin := env.Key(nil, tryon.KeyAdmin, nil)
	c := &contract{t: t, doc: doc, env: env}

	c.do("GET", "/health", "/health", "", nil, 200)

	first := c.generation(c.do("POST", "/generate", "/generate", shop.TestKey,
		map[string]any{"prompt": "a red linen summer dress", "width": 768, "height": 1024, "metadata": map[string]string{"sku": "D-1042"}},
		200, "Idempotency-Key", "look-1"))
	replay := c.do("POST", "/generate", "/generate", shop.TestKey,
		map[string]any{"metadata": map[string]string{"sku": "D-1042"}, "height": 1024, "width": 768, "prompt": "a red linen summer dress"},
		200, "Idempotency-Key", "look-1")
	if replay.Header.Get("Idempotent-Replayed") != "true" || c.generation(replay).ID != first.ID {
		t.Errorf("the replay is not the first generation with Idempotent-Replayed: %v %s", replay.Header, replay.Body)
	}
	c.do("POST", "/generate", "/generate", shop.TestKey, map[string]any{"prompt": "another dress"}, 422, "Idempotency-Key", "look-1")
	c.do("POST", "/generate", "/generate", shop.TestKey, map[string]any{"prompt": "a hat [fake:blocked]"}, 422)
	c.do("POST", "/generate", "/generate", shop.TestKey, map[string]any{"prompt": "a hat [fake:error]"}, 502)
	c.do("POST", "/generate", "/generate", shop.TestKey, map[string]any{"prompt": "a hat [fake:unavailable]"}, 503)
	c.do("POST", "/generate", "/generate", shop.TestKey, map[string]any{"prompt": "a hat [fake:sleep=5s]"}, 504, "Prefer", "wait=1")
	video := c.generation(c.do("POST", "/generate", "/generate", shop.TestKey,
		map[string]any{"prompt": "the model turns", "service": "veo3", "duration_seconds": 4}, 202, "Prefer", "wait=0"))
	c.do("POST", "/generate", "/generate", shop.TestKey, `{"prompt": "x"}`, 415, "Content-Type", "text/plain")
	c.do("POST", "/generate", "/generate", shop.TestKey, `{"prompt": "`+strings.Repeat("a", httpapi.MaxBodyBytes)+`"}`, 413)
	c.do("POST", "/generate", "/generate", "", map[string]any{"prompt": "x"}, 401)
	c.do("POST", "/generate", "/generate", admin, map[string]any{"prompt": "x"}, 403)
	if r := c.do("POST", "/generate", "/generate", broke.LiveKey, map[string]any{"prompt": "x"}, 402); r.Header.Get("X-Credits-Remaining") != "0" {
		t.Errorf("402 to a prepaid tenant: X-Credits-Remaining %q, want 0", r.Header.Get("X-Credits-Remaining"))
	}
	busyVideo := c.generation(c.do("POST", "/generate", "/generate", busy.TestKey, map[string]any{"prompt": "a", "service": "veo3"}, 202, "Prefer", "wait=0"))
	c.do("POST", "/generate", "/generate", busy.TestKey, map[string]any{"prompt": "b", "service": "veo3"}, 429, "Prefer", "wait=0")
	c.idempotencyInProgress(shop.TestKey)

	c.do("GET", "/generate/{id}", "/generate/"+first.ID, shop.TestKey, nil, 200)
	c.do("GET", "/generate/{id}", "/generate/"+video.ID, shop.TestKey, nil, 200)
	c.do("GET", "/generate/{id}", "/generate/"+video.ID, admin, nil, 200)
	c.do("GET", "/generate/{id}", "/generate/"+video.ID, other.TestKey, nil, 404)
	c.do("GET", "/generate/{id}", "/generate/not-an-id", shop.TestKey, nil, 404)

	canceled := c.generation(c.do("POST", "/generate/{id}/cancel", "/generate/"+busyVideo.ID+"/cancel", busy.TestKey, nil, 200))
	if canceled.Status != tryon.StatusCanceled {
		t.Errorf("cancel answered status %s", canceled.Status)
	}
	c.do("POST", "/generate/{id}/cancel", "/generate/"+busyVideo.ID+"/cancel", busy.TestKey, nil, 200)
	c.do("POST", "/generate/{id}/cancel", "/generate/"+first.ID+"/cancel", shop.TestKey, nil, 409)
	c.do("POST", "/generate/{id}/cancel", "/generate/"+video.ID+"/cancel", other.TestKey, nil, 404)
	c.do("POST", "/generate/{id}/cancel", "/generate/"+video.ID+"/cancel", admin, nil, 403)
	c.do("POST", "/generate/{id}/cancel", "/generate/"+video.ID+"/cancel", "", nil, 401)
	c.do("OPTIONS", "/generate/{id}/cancel", "/generate/"+video.ID+"/cancel", "", nil, 204, "Origin", "https://shop.example", "Access-Control-Request-Method", "POST")

	page := c.do("GET", "/generations", "/generations?limit=2", shop.TestKey, nil, 200)
	var list struct {
		NextCursor *string `json:"next_cursor"`
	}
	if err := json.Unmarshal(page.Data, &list); err != nil || list.NextCursor == nil {
		t.Errorf("the first page of many has no next_cursor: %v %s", err, page.Data)
	} else {
		c.do("GET", "/generations", "/generations?limit=100&mode=test&cursor="+*list.NextCursor, shop.TestKey, nil, 200)
	}
	c.do("GET", "/generations", "/generations?limit=0&status=done", shop.TestKey, nil, 400)
	c.do("GET", "/generations", "/generations", admin, nil, 403)
	c.do("GET", "/generations", "/generations", "", nil, 401)
	c.do("GET", "/generations", "/generations", "tryon_test_nonsense", nil, 401)
	for i := 0; ; i++ { // three tries, in case a minute boundary passes
		if r := c.env.Do("GET", "/generations", slow.TestKey, nil); r.Status == 429 {
			c.check("GET", "/generations", r)
			break
		} else if i == 2 {
			t.Errorf("no 429 with a limit of 1 request per minute: %d", r.Status)
			break
		}
	}

	c.do("GET", "/metrics", "/metrics", shop.TestKey, nil, 200)
	c.do("GET", "/metrics", "/metrics?bucket=hour&from="+time.Now().UTC().Format(time.DateOnly), admin, nil, 200)
	c.do("GET", "/metrics", "/metrics?bucket=week", shop.TestKey, nil, 400)
	c.do("GET", "/metrics/client/{id}", "/metrics/client/"+shop.Client.ID.String(), shop.LiveKey, nil, 200)
	c.do("GET", "/metrics/client/{id}", "/metrics/client/"+broke.Client.ID.String(), admin, nil, 200)
	c.do("GET", "/metrics/client/{id}", "/metrics/client/"+other.Client.ID.String(), shop.TestKey, nil, 404)

	if first.Output == nil {
		t.Fatalf("the first generation has no output")
	}
	asset := strings.TrimPrefix(first.Output.URL, env.URL)
	c.do("GET", "/assets/{token}", asset, "", nil, 200)
	c.do("GET", "/assets/{token}", asset, "", nil, 304, "If-None-Match", c.last.Header.Get("ETag"))
	c.do("GET", "/assets/{token}", "/assets/nothing-here.png", "", nil, 404)
	c.do("OPTIONS", "/generate", "/generate", "", nil, 204, "Origin", "https://shop.example", "Access-Control-Request-Method", "POST")

	// Erasure: the generation's outputs go, its asset URL answers 410.
	c.do("DELETE", "/generate/{id}", "/generate/"+first.ID, other.TestKey, nil, 404)
	c.do("DELETE", "/generate/{id}", "/generate/"+video.ID, shop.TestKey, nil, 409)
	c.do("DELETE", "/generate/{id}", "/generate/"+first.ID, admin, nil, 403)
	c.do("DELETE", "/generate/{id}", "/generate/"+first.ID, shop.TestKey, nil, 200)
	c.do("DELETE", "/generate/{id}", "/generate/"+first.ID, shop.TestKey, nil, 200)
	c.do("GET", "/generate/{id}", "/generate/"+first.ID, shop.TestKey, nil, 200)
	c.do("GET", "/assets/{token}", asset, "", nil, 410)

	month := time.Now().UTC().Format("2006-01")
	c.do("GET", "/billing/statement", "/billing/statement?month="+month, shop.LiveKey, nil, 200)
	c.do("GET", "/billing/statement", "/billing/statement?month="+month+"&client_id="+broke.Client.ID.String(), admin, nil, 200)
	c.do("GET", "/billing/statement", "/billing/statement?month=2026-13", shop.LiveKey, nil, 400)
	c.do("GET", "/billing/statement", "/billing/statement?month="+month+"&client_id="+other.Client.ID.String(), shop.LiveKey, nil, 404)
	// Without Stripe configured, top-ups and Stripe's webhook are not found.
	c.do("POST", "/billing/topup", "/billing/topup", broke.LiveKey, map[string]any{"amount_micros": 20_000_000}, 404)
	c.do("POST", "/stripe/webhook", "/stripe/webhook", "", map[string]any{"id": "evt_1"}, 404)

	// Answers to requests no operation describes.
	c.checkResponse("POST /health", doc.deref(doc.component("responses", "MethodNotAllowed")), c.env.Do("POST", "/health", "", nil), 405)
	c.checkResponse("GET /nowhere", doc.deref(doc.component("responses", "NotFound")), c.env.Do("GET", "/nowhere", "", nil), 404)
}

// TestOpenAPIRequestSchema checks the request schema against the server
// both ways: bodies the schema accepts are accepted, and bodies it refuses
// are refused with the field named. (What the schema cannot see, such as
// whether an image URL can be fetched, is left out.)
func TestOpenAPIRequestSchema(t *testing.T) {
	doc := loadOpenAPI(t)
	env := apptest.New(t, apptest.Options{Settings: map[string]string{"FAKE_VIDEO_LATENCY": "1m"}})
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1000, MaxConcurrent: 50})
	c := &contract{t: t, doc: doc, env: env}
	schema := doc.schema("GenerationRequest")

	pngBytes := tinyTestPNG(t)
	dataURL := "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngBytes)
	photos := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(pngBytes)
	}))
	defer photos.Close()
	fullMetadata := map[string]string{}
	for i := range generation.MaxMetadataPairs {
		fullMetadata[fmt.Sprintf("%02d", i)+strings.Repeat("é", generation.MaxMetadataKey-2)] = strings.Repeat("ü", generation.MaxMetadataValue)
	}
	tooMany := map[string]string{}
	for i := range generation.MaxMetadataPairs + 1 {
		tooMany[strconv.Itoa(i)] = "v"
	}

	valid := []map[string]any{
		{"prompt": "a red dress"},
		{"prompt": "  padded  ", "service": "banana-pro", "width": 64, "height": 4096, "metadata": map[string]string{"sku": "D-1042"}},
		{"prompt": strings.Repeat("é", generation.MaxPromptChars), "metadata": fullMetadata},
		{"prompt": "try it on", "person_image": dataURL, "garment_image": dataURL},
		{"prompt": "try it on", "person_image": photos.URL + "/anna.png", "garment_image": dataURL},
		{"prompt": "a turn", "service": "veo3"},
		{"prompt": "a turn", "service": "veo3", "width": 720, "height": 1280, "duration_seconds": 4},
		{"task": "tryon", "person_image": dataURL, "garments": []any{map[string]any{"image": dataURL, "category": "top"}}},
		{"task": "tryon", "person_image": photos.URL + "/anna.png", "prompt": "tuck it in", "seed": 7, "output_format": "jpeg",
			"output_quality": 80, "num_outputs": 1, "garments": []any{
				map[string]any{"image": dataURL, "category": "bottom", "photo_type": "model"},
				map[string]any{"image": dataURL, "category": "outerwear", "photo_type": "flat-lay"}}},
		{"prompt": "a cat", "task": "generate", "seed": 0, "output_format": "png"},
		{"task": "tryon", "person_image": dataURL, "num_outputs": 3, "output_format": "jpeg",
			"garments": []any{map[string]any{"image": dataURL, "category": "top"}}},
		{"prompt": "hats", "service": "banana-pro", "num_outputs": 4},
		{"prompt": "a turn", "service": "veo3", "num_outputs": 1},
	}
	for _, body := range valid {
		if problems := doc.validate(schema, toJSONValue(t, body), "request", true); len(problems) > 0 {
			t.Errorf("the schema refuses a body the server accepts: %v", problems)
		}
		var headers []string
		if body["service"] == "veo3" {
			// Not waiting for the fake video keeps the test short: 202.
			headers = []string{"Prefer", "wait=0"}
		}
		r := c.do("POST", "/generate", "/generate", shop.TestKey, body, 0, headers...)
		if r.Status != 200 && r.Status != 202 {
			t.Errorf("the server refuses a body the schema accepts: %s: %d %.300s", briefJSON(body), r.Status, r.Body)
		}
	}

	invalid := []struct {
		field string
		body  any
	}{
		{"prompt", map[string]any{}},
		{"prompt", map[string]any{"prompt": " \t\n "}},
		{"prompt", map[string]any{"prompt": strings.Repeat("é", generation.MaxPromptChars+1)}},
		{"prompt", map[string]any{"prompt": "a\x00b"}},
		{"prompt", map[string]any{"prompt": 5}},
		{"service", map[string]any{"prompt": "x", "service": "dalle"}},
		{"width", map[string]any{"prompt": "x", "width": generation.MinSide - 1}},
		{"height", map[string]any{"prompt": "x", "height": generation.MaxSide + 1}},
		{"width", json.RawMessage(`{"prompt": "x", "width": 512.5}`)},
		{"garment_image", map[string]any{"prompt": "x", "person_image": dataURL}},
		{"person_image", map[string]any{"prompt": "x", "garment_image": dataURL}},
		{"person_image", map[string]any{"prompt": "x", "person_image": "ftp://example.com/a.png", "garment_image": dataURL}},
		{"person_image", map[string]any{"prompt": "x", "person_image": "data:image/gif;base64,R0lGODlh", "garment_image": dataURL}},
		{"person_image", map[string]any{"prompt": "x", "person_image": "https://example.com/" + strings.Repeat("a", 2029), "garment_image": dataURL}},
		{"duration_seconds", map[string]any{"prompt": "x", "duration_seconds": 8}},
		{"duration_seconds", map[string]any{"prompt": "x", "service": "banana", "duration_seconds": 8}},
		{"duration_seconds", map[string]any{"prompt": "x", "service": "veo3", "duration_seconds": 5}},
		{"metadata", map[string]any{"prompt": "x", "metadata": tooMany}},
		{"metadata", map[string]any{"prompt": "x", "metadata": map[string]any{"": "v"}}},
		{"metadata." + strings.Repeat("k", 41), map[string]any{"prompt": "x", "metadata": map[string]any{strings.Repeat("k", 41): "v"}}},
		{"metadata.k", map[string]any{"prompt": "x", "metadata": map[string]any{"k": strings.Repeat("v", 501)}}},
		{"metadata.k", map[string]any{"prompt": "x", "metadata": map[string]any{"k": 5}}},
		{"metadata.k", map[string]any{"prompt": "x", "metadata": map[string]any{"k": "a\x00b"}}},
		{"promt", map[string]any{"promt": "x"}},
		{"garments", map[string]any{"task": "tryon", "person_image": dataURL}},
		{"garments", map[string]any{"task": "tryon", "person_image": dataURL, "garments": []any{}}},
		{"person_image", map[string]any{"task": "tryon", "garments": []any{map[string]any{"image": dataURL, "category": "top"}}}},
		{"garments", map[string]any{"prompt": "x", "garments": []any{map[string]any{"image": dataURL, "category": "top"}}}},
		{"garments[0].category", map[string]any{"task": "tryon", "person_image": dataURL, "garments": []any{map[string]any{"image": dataURL, "category": "hat"}}}},
		{"garments[0].photo_type", map[string]any{"task": "tryon", "person_image": dataURL, "garments": []any{map[string]any{"image": dataURL, "category": "top", "photo_type": "x"}}}},
		{"task", map[string]any{"prompt": "x", "task": "paint"}},
		{"seed", map[string]any{"prompt": "x", "seed": -1}},
		{"output_format", map[string]any{"prompt": "x", "output_format": "gif"}},
		{"output_quality", map[string]any{"prompt": "x", "output_quality": 50}},
		{"num_outputs", map[string]any{"prompt": "x", "num_outputs": 5}},
		{"num_outputs", map[string]any{"prompt": "x", "num_outputs": 0}},
		{"num_outputs", map[string]any{"prompt": "x", "service": "veo3", "num_outputs": 2}},
	}
	for _, tc := range invalid {
		if problems := doc.validate(schema, toJSONValue(t, tc.body), "request", true); len(problems) == 0 {
			t.Errorf("the schema accepts a body the server refuses (%s): %s", tc.field, briefJSON(tc.body))
		}
		r := c.do("POST", "/generate", "/generate", shop.TestKey, tc.body, 400)
		if !slices.ContainsFunc(r.Details, func(d tryon.FieldError) bool { return d.Field == tc.field }) {
			t.Errorf("%s: details %+v do not name %q", briefJSON(tc.body), r.Details, tc.field)
		}
	}
}

// contract sends requests to a running app and checks each answer against
// the document.
type contract struct {
	t    *testing.T
	doc  *openAPI
	env  *apptest.Env
	last *apptest.Response
}

// do sends a request, checks its status (unless want is 0) and checks the
// answer against the document's operation template.
func (c *contract) do(method, template, path, key string, body any, want int, headers ...string) *apptest.Response {
	c.t.Helper()
	r := c.env.Do(method, path, key, body, headers...)
	c.last = r
	if want != 0 && r.Status != want {
		c.t.Errorf("%s %s: got %d, want %d: %.300s", method, path, r.Status, want, r.Body)
		return r
	}
	c.check(method, template, r)
	return r
}

// check compares an answer with the response its operation documents for
// its status.
func (c *contract) check(method, template string, r *apptest.Response) {
	c.t.Helper()
	op := asObject(asObject(asObject(c.doc.root["paths"])[template])[strings.ToLower(method)])
	if op == nil {
		c.t.Errorf("%s %s is not documented", method, template)
		return
	}
	resp, ok := asObject(op["responses"])[strconv.Itoa(r.Status)]
	if !ok {
		c.t.Errorf("%s %s answered %d, which is not documented: %.300s", method, template, r.Status, r.Body)
		return
	}
	c.checkResponse(method+" "+template, c.doc.deref(resp), r, r.Status)
}

func (c *contract) checkResponse(what string, resp map[string]any, r *apptest.Response, want int) {
	c.t.Helper()
	what = fmt.Sprintf("%s %d", what, r.Status)
	if r.Status != want {
		c.t.Errorf("%s: want %d", what, want)
	}
	for name, h := range asObject(resp["headers"]) {
		h := c.doc.deref(h)
		values := r.Header.Values(name)
		if len(values) == 0 {
			if h["required"] == true {
				c.t.Errorf("%s: no %s header", what, name)
			}
			continue
		}
		for _, p := range c.doc.validate(h["schema"], c.doc.headerValue(h["schema"], values[0]), what+" header "+name, true) {
			c.t.Error(p)
		}
	}
	content := asObject(resp["content"])
	if len(content) == 0 {
		if len(r.Body) != 0 {
			c.t.Errorf("%s: documented without a body, got %.200s", what, r.Body)
		}
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	media, ok := content[mt]
	if !ok {
		c.t.Errorf("%s: Content-Type %q is not documented (%v)", what, r.Header.Get("Content-Type"), sortedKeysOf(content))
		return
	}
	schema, ok := asObject(media)["schema"]
	if !ok {
		return
	}
	v, err := decodeJSONNumbers(r.Body)
	if err != nil {
		c.t.Errorf("%s: body is not JSON: %v", what, err)
		return
	}
	for _, p := range c.doc.validate(schema, v, what, true) {
		c.t.Error(p)
	}
}

func (c *contract) generation(r *apptest.Response) apptest.Generation {
	c.t.Helper()
	if len(r.Data) == 0 {
		c.t.Fatalf("no data: %d %s", r.Status, r.Body)
	}
	return r.Generation(c.t)
}

// idempotencyInProgress sends a slow request with an Idempotency-Key and,
// once it is recorded, the same request again, which must answer 409.
func (c *contract) idempotencyInProgress(key string) {
	c.t.Helper()
	body := `{"prompt": "a slow coat [fake:sleep=2s]"}`
	type answer struct {
		resp *http.Response
		body []byte
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", c.env.URL+"/generate", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Client-Key", key)
		req.Header.Set("Idempotency-Key", "slow-1")
		resp, err := c.env.Client.Do(req)
		var b []byte
		if err == nil {
			b, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		done <- answer{resp, b, err}
	}()
	for deadline := time.Now().Add(10 * time.Second); ; {
		r := c.env.Do("GET", "/generations?status=processing&limit=100", key, nil)
		if bytes.Contains(r.Body, []byte(`"idempotency_key":"slow-1"`)) {
			break
		}
		if time.Now().After(deadline) {
			c.t.Errorf("the slow request was never recorded: %s", r.Body)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.do("POST", "/generate", "/generate", key, body, 409, "Idempotency-Key", "slow-1")
	a := <-done
	if a.err != nil {
		c.t.Errorf("the slow request: %v", a.err)
		return
	}
	r := &apptest.Response{Status: a.resp.StatusCode, Header: a.resp.Header, Body: a.body}
	c.check("POST", "/generate", r)
}

// openAPI is public/openapi.json, decoded with numbers kept as json.Number.
type openAPI struct {
	root     map[string]any
	patterns map[string]*regexp.Regexp
}

func loadOpenAPI(t *testing.T) *openAPI {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "public", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := decodeJSONNumbers(b)
	if err != nil {
		t.Fatalf("public/openapi.json is not JSON: %v", err)
	}
	root, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("public/openapi.json is not an object")
	}
	return &openAPI{root: root, patterns: map[string]*regexp.Regexp{}}
}

func decodeJSONNumbers(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the JSON value")
	}
	return v, nil
}

// toJSONValue turns a Go value into what decodeJSON would make of its JSON.
func toJSONValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeJSONNumbers(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// resolve follows a local reference ("#/components/schemas/Generation").
func (d *openAPI) resolve(ref string) (any, bool) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	var v any = d.root
	for _, part := range strings.Split(rest, "/") {
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[part]; !ok {
			return nil, false
		}
	}
	return v, true
}

// deref follows Reference Objects (responses, parameters, headers,
// examples) to what they name.
func (d *openAPI) deref(v any) map[string]any {
	for range 10 {
		m := asObject(v)
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		v, _ = d.resolve(ref)
	}
	return nil
}

func (d *openAPI) component(kind, name string) any {
	return asObject(asObject(d.root["components"])[kind])[name]
}

func (d *openAPI) schema(name string) any { return d.component("schemas", name) }

// operations calls f for every operation of the document.
func (d *openAPI) operations(f func(method, path string, op map[string]any)) {
	for path, item := range asObject(d.root["paths"]) {
		for method, op := range asObject(item) {
			if m := asObject(op); m != nil && method != "parameters" {
				f(strings.ToUpper(method), path, m)
			}
		}
	}
}

// codesOf returns the error codes an error response's schema allows: the
// intersection of every enum or const its "code" property is held to.
func (d *openAPI) codesOf(schema any) []tryon.Code {
	allowed := map[tryon.Code]bool{}
	for _, c := range allCodes {
		allowed[c] = true
	}
	var visit func(s any)
	visit = func(s any) {
		m := asObject(s)
		if ref, ok := m["$ref"].(string); ok {
			t, _ := d.resolve(ref)
			visit(t)
		}
		for _, sub := range asArray(m["allOf"]) {
			visit(sub)
		}
		code := asObject(asObject(m["properties"])["code"])
		if code == nil {
			return
		}
		_, hasEnum := code["enum"]
		_, hasConst := code["const"]
		if !hasEnum && !hasConst {
			code = d.deref(code)
		}
		var values []any
		if c, ok := code["const"]; ok {
			values = []any{c}
		} else if e, ok := code["enum"].([]any); ok {
			values = e
		} else {
			return
		}
		keep := map[tryon.Code]bool{}
		for _, v := range values {
			if s, ok := v.(string); ok && allowed[tryon.Code(s)] {
				keep[tryon.Code(s)] = true
			}
		}
		allowed = keep
	}
	visit(schema)
	var out []tryon.Code
	for _, c := range allCodes {
		if allowed[c] {
			out = append(out, c)
		}
	}
	return out
}

// headerValue reads a header as the JSON value its schema describes.
func (d *openAPI) headerValue(schema any, raw string) any {
	s := asObject(schema)
	if ref, ok := s["$ref"].(string); ok {
		t, _ := d.resolve(ref)
		s = asObject(t)
	}
	if s["type"] == "integer" {
		if _, err := strconv.ParseInt(raw, 10, 64); err == nil {
			return json.Number(raw)
		}
	}
	return raw
}

// The JSON Schema keywords the checker understands; anything else in a
// schema fails the test rather than being silently ignored.
var (
	schemaKeywords = map[string]bool{
		"$ref": true, "type": true, "enum": true, "const": true, "allOf": true, "anyOf": true, "oneOf": true,
		"properties": true, "required": true, "additionalProperties": true, "propertyNames": true,
		"minProperties": true, "maxProperties": true, "dependentRequired": true, "dependentSchemas": true,
		"items": true, "minItems": true, "maxItems": true, "minimum": true, "maximum": true,
		"minLength": true, "maxLength": true, "pattern": true,
	}
	schemaAnnotations = map[string]bool{
		"description": true, "title": true, "default": true, "examples": true, "format": true,
		"x-http-status": true, "deprecated": true, "readOnly": true, "writeOnly": true,
	}
)

// validate checks value against a schema, the subset of JSON Schema 2020-12
// the document uses, and returns every problem. closed makes an object's
// declared properties (its own, its allOf members' and its $ref target's)
// the only ones allowed unless it says otherwise with additionalProperties:
// the contract is exactly the documented properties, not merely compatible
// ones.
func (d *openAPI) validate(schema, value any, at string, closed bool) (problems []string) {
	if b, ok := schema.(bool); ok {
		if !b {
			return []string{at + ": no value is allowed here"}
		}
		return nil
	}
	s, ok := schema.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: the schema is %T, not an object", at, schema)}
	}
	fail := func(format string, args ...any) {
		problems = append(problems, at+": "+fmt.Sprintf(format, args...))
	}
	for k := range s {
		if !schemaKeywords[k] && !schemaAnnotations[k] {
			fail("the checker does not know the schema keyword %q", k)
		}
	}

	if ref, ok := s["$ref"].(string); ok {
		target, ok := d.resolve(ref)
		if !ok {
			fail("$ref %q does not resolve", ref)
		} else {
			problems = append(problems, d.validate(target, value, at, false)...)
		}
	}
	for _, sub := range asArray(s["allOf"]) {
		problems = append(problems, d.validate(sub, value, at, false)...)
	}
	if branches, ok := s["anyOf"].([]any); ok {
		var why []string
		for _, b := range branches {
			p := d.validate(b, value, at, closed)
			if len(p) == 0 {
				why = nil
				break
			}
			why = append(why, strings.Join(p, "; "))
		}
		if why != nil {
			fail("matches no anyOf branch: [%s]", strings.Join(why, "] ["))
		}
	}
	if branches, ok := s["oneOf"].([]any); ok {
		matched := 0
		var why []string
		for _, b := range branches {
			p := d.validate(b, value, at, closed)
			if len(p) == 0 {
				matched++
			}
			why = append(why, strings.Join(p, "; "))
		}
		if matched != 1 {
			fail("matches %d oneOf branches, want 1: [%s]", matched, strings.Join(why, "] ["))
		}
	}

	if typ, ok := s["type"]; ok {
		types := []any{typ}
		if list, ok := typ.([]any); ok {
			types = list
		}
		got := jsonType(value)
		if !slices.ContainsFunc(types, func(t any) bool { return t == got || (t == "number" && got == "integer") }) {
			fail("is %s, want %v", got, typ)
			return problems
		}
	}
	if c, ok := s["const"]; ok && !equalJSON(c, value) {
		fail("is %v, want %v", value, c)
	}
	if e, ok := s["enum"].([]any); ok && !slices.ContainsFunc(e, func(v any) bool { return equalJSON(v, value) }) {
		fail("is %v, want one of %v", value, e)
	}

	switch v := value.(type) {
	case json.Number:
		f, _ := v.Float64()
		if min, ok := asNumber(s["minimum"]); ok && f < min {
			fail("is %v, below the minimum %v", v, min)
		}
		if max, ok := asNumber(s["maximum"]); ok && f > max {
			fail("is %v, above the maximum %v", v, max)
		}
	case string:
		n := float64(utf8.RuneCountInString(v))
		if min, ok := asNumber(s["minLength"]); ok && n < min {
			fail("has %v characters, fewer than %v", n, min)
		}
		if max, ok := asNumber(s["maxLength"]); ok && n > max {
			fail("has %v characters, more than %v", n, max)
		}
		if pattern, ok := s["pattern"].(string); ok {
			re, err := d.compile(pattern)
			if err != nil {
				fail("pattern %q is not a regular expression Go understands: %v", pattern, err)
			} else if !re.MatchString(v) {
				fail("%.80q does not match %q", v, pattern)
			}
		}
	case []any:
		if min, ok := asNumber(s["minItems"]); ok && float64(len(v)) < min {
			fail("has %d items, fewer than %v", len(v), min)
		}
		if max, ok := asNumber(s["maxItems"]); ok && float64(len(v)) > max {
			fail("has %d items, more than %v", len(v), max)
		}
		if items, ok := s["items"]; ok {
			for i, item := range v {
				problems = append(problems, d.validate(items, item, fmt.Sprintf("%s[%d]", at, i), true)...)
			}
		}
	case map[string]any:
		problems = append(problems, d.validateObject(s, v, at, closed)...)
	}
	return problems
}

func (d *openAPI) validateObject(s, v map[string]any, at string, closed bool) (problems []string) {
	fail := func(format string, args ...any) {
		problems = append(problems, at+": "+fmt.Sprintf(format, args...))
	}
	for _, name := range asArray(s["required"]) {
		if _, ok := v[name.(string)]; !ok {
			fail("lacks the required property %q", name)
		}
	}
	if min, ok := asNumber(s["minProperties"]); ok && float64(len(v)) < min {
		fail("has %d properties, fewer than %v", len(v), min)
	}
	if max, ok := asNumber(s["maxProperties"]); ok && float64(len(v)) > max {
		fail("has %d properties, more than %v", len(v), max)
	}
	props := asObject(s["properties"])
	additional, hasAdditional := s["additionalProperties"]
	for _, k := range sortedKeysOf(v) {
		if names, ok := s["propertyNames"]; ok {
			problems = append(problems, d.validate(names, k, at+" property name "+strconv.Quote(k), true)...)
		}
		switch p, declared := props[k]; {
		case declared:
			problems = append(problems, d.validate(p, v[k], at+"."+k, true)...)
		case hasAdditional:
			problems = append(problems, d.validate(additional, v[k], at+"."+k, true)...)
		}
	}
	for k, deps := range asObject(s["dependentRequired"]) {
		if _, ok := v[k]; !ok {
			continue
		}
		for _, dep := range asArray(deps) {
			if _, ok := v[dep.(string)]; !ok {
				fail("has %q without %q", k, dep)
			}
		}
	}
	for k, dep := range asObject(s["dependentSchemas"]) {
		if _, ok := v[k]; ok {
			problems = append(problems, d.validate(dep, v, at, false)...)
		}
	}
	if closed {
		names := map[string]bool{}
		if hasProps, open := d.declared(s, names); hasProps && !open {
			for _, k := range sortedKeysOf(v) {
				if !names[k] {
					fail("has the property %q, which the schema does not list", k)
				}
			}
		}
	}
	return problems
}

// declared collects the property names s declares through properties,
// allOf and $ref, and whether any of them allows additional properties.
func (d *openAPI) declared(s map[string]any, names map[string]bool) (hasProps, open bool) {
	if p, ok := s["properties"].(map[string]any); ok {
		hasProps = true
		for k := range p {
			names[k] = true
		}
	}
	_, open = s["additionalProperties"]
	subs := asArray(s["allOf"])
	if ref, ok := s["$ref"].(string); ok {
		if t, ok := d.resolve(ref); ok {
			subs = append(subs, t)
		}
	}
	for _, sub := range subs {
		if m := asObject(sub); m != nil {
			p, o := d.declared(m, names)
			hasProps, open = hasProps || p, open || o
		}
	}
	return hasProps, open
}

func (d *openAPI) compile(pattern string) (*regexp.Regexp, error) {
	if re, ok := d.patterns[pattern]; ok {
		return re, nil
	}
	re, err := regexp.Compile(pattern)
	if err == nil {
		d.patterns[pattern] = re
	}
	return re, err
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if _, err := strconv.ParseInt(v.String(), 10, 64); err == nil {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func equalJSON(a, b any) bool {
	if x, ok := a.(json.Number); ok {
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		fx, _ := x.Float64()
		fy, _ := y.Float64()
		return fx == fy
	}
	return reflect.DeepEqual(a, b)
}

func asNumber(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

func asObject(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asArray(v any) []any {
	a, _ := v.([]any)
	return a
}

// walkJSON calls f for every object in v, with its JSON pointer.
func walkJSON(v any, at string, f func(at string, m map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		f(at, v)
		for k, child := range v {
			walkJSON(child, at+"/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(k), f)
		}
	case []any:
		for i, child := range v {
			walkJSON(child, at+"/"+strconv.Itoa(i), f)
		}
	}
}

// jsonFields returns the JSON names of a struct's fields, sorted, and those
// without omitempty.
func jsonFields(t reflect.Type) (all, required []string) {
	for f := range t.Fields() {
		tag, ok := f.Tag.Lookup("json")
		if !ok || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		all = append(all, name)
		if !slices.Contains(strings.Split(opts, ","), "omitempty") {
			required = append(required, name)
		}
	}
	slices.Sort(all)
	slices.Sort(required)
	return all, required
}

// codesDeclaredIn parses a Go file and returns the values of its constants
// of type Code, sorted.
func codesDeclaredIn(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		if typ, ok := spec.Type.(*ast.Ident); !ok || typ.Name != "Code" {
			return true
		}
		for _, v := range spec.Values {
			if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				s, _ := strconv.Unquote(lit.Value)
				codes = append(codes, s)
			}
		}
		return true
	})
	slices.Sort(codes)
	return codes
}

func codeStrings(codes []tryon.Code) []string {
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = string(c)
	}
	slices.Sort(out)
	return out
}

func sortedKeysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedStringsOf(v any) []string {
	var out []string
	for _, s := range asArray(v) {
		out = append(out, fmt.Sprint(s))
	}
	slices.Sort(out)
	return out
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// briefJSON is v's JSON, cut short for a failure message.
func briefJSON(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// tinyTestPNG is a 16×16 PNG: a real image for the try-on inputs.
func tinyTestPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	img.Set(0, 0, color.RGBA{R: 200, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
