package httpapi_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/httpapi"
)

// vercelJSON is the part of vercel.json the route table must agree with.
type vercelJSON struct {
	Framework *string `json:"framework"`
	Functions map[string]struct {
		MaxDuration int `json:"maxDuration"`
	} `json:"functions"`
	Rewrites []struct {
		Source      string `json:"source"`
		Destination string `json:"destination"`
	} `json:"rewrites"`
	Crons []struct {
		Path     string `json:"path"`
		Schedule string `json:"schedule"`
	} `json:"crons"`
}

// TestVercelJSONIsGeneratedFromTheRouteTable keeps vercel.json equal to
// what `tryon vercel-json` prints, so a maxDuration, a route or a cron
// schedule is changed in the route table only.
func TestVercelJSONIsGeneratedFromTheRouteTable(t *testing.T) {
	got, err := os.ReadFile(filepath.Join("..", "..", "vercel.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := httpapi.VercelJSON(); !bytes.Equal(got, want) {
		t.Fatalf("vercel.json differs from the route table: run `go run ./cmd/tryon vercel-json -w`\ngot\n%s\nwant\n%s", got, want)
	}
}

// TestVercelJSONRoutesEveryFunction reads the generated vercel.json as
// Vercel does: every function with its maxDuration, each public path
// rewritten to its function, the catch-all last, and the cron job.
func TestVercelJSONRoutesEveryFunction(t *testing.T) {
	var v vercelJSON
	if err := json.Unmarshal(httpapi.VercelJSON(), &v); err != nil {
		t.Fatal(err)
	}
	if v.Framework != nil {
		t.Errorf(`vercel.json must pin "framework": null`)
	}
	if len(v.Functions) != len(httpapi.Routes) {
		t.Errorf("%d functions for %d routes", len(v.Functions), len(httpapi.Routes))
	}
	for _, rt := range httpapi.Routes {
		fn, ok := v.Functions["api/"+rt.Function+".go"]
		if !ok {
			t.Errorf("vercel.json has no function api/%s.go", rt.Function)
			continue
		}
		if fn.MaxDuration != rt.MaxDuration {
			t.Errorf("api/%s.go: maxDuration %d in vercel.json, %d in the route table", rt.Function, fn.MaxDuration, rt.MaxDuration)
		}
		// Vercel refuses a maxDuration outside 1..800 s (Pro's ceiling).
		if rt.MaxDuration < 5 || rt.MaxDuration > 800 {
			t.Errorf("api/%s.go: maxDuration %d is outside 5..800 s", rt.Function, rt.MaxDuration)
		}
	}
	rewrites := map[string]string{}
	for i, r := range v.Rewrites {
		if r.Source == "/(.*)" && i != len(v.Rewrites)-1 {
			t.Errorf("the catch-all rewrite is #%d of %d: it must be last", i+1, len(v.Rewrites))
		}
		rewrites[r.Source] = r.Destination
	}
	for source, destination := range map[string]string{
		"/generate":     "/api/generate",
		"/generate/:id": "/api/generation?id=:id",
		"/(.*)":         "/api/not_found",
	} {
		if rewrites[source] != destination {
			t.Errorf("rewrite %s -> %q, want %s", source, rewrites[source], destination)
		}
	}
	if len(v.Crons) != 1 || v.Crons[0].Path != "/api/cron" || v.Crons[0].Schedule != "* * * * *" {
		t.Errorf("crons: got %+v, want one entry for /api/cron every minute", v.Crons)
	}
}

// TestAPIFilesServeTheirRoute parses api/ as Vercel's builder does: every
// non-test file must export exactly one handler, named as in the route
// table, handing the request to that route.
func TestAPIFilesServeTheirRoute(t *testing.T) {
	dir := filepath.Join("..", "..", "api")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") {
			continue
		}
		fn := strings.TrimSuffix(name, ".go")
		rt, ok := httpapi.RouteByFunction(fn)
		if !ok {
			t.Errorf("api/%s has no route in the table", name)
			continue
		}
		seen[fn] = true
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name != "handler" {
			t.Errorf("api/%s: package %s, want handler", name, f.Name.Name)
		}
		var exported []string
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.IsExported() {
				exported = append(exported, fd.Name.Name)
			}
		}
		if len(exported) != 1 || exported[0] != rt.Handler {
			t.Errorf("api/%s exports %v, want exactly %s", name, exported, rt.Handler)
		}
		src, _ := os.ReadFile(filepath.Join(dir, name))
		if !strings.Contains(string(src), `app.Serve("`+fn+`"`) {
			t.Errorf("api/%s does not serve its own route %q", name, fn)
		}
	}
	for _, rt := range httpapi.Routes {
		if !seen[rt.Function] {
			t.Errorf("route %s has no api/%s.go", rt.Path, rt.Function)
		}
	}
}
