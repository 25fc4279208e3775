package httpapi_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/config"
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

func readVercelJSON(t *testing.T) vercelJSON {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "vercel.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vercelJSON
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVercelJSONAgreesWithTheRouteTable(t *testing.T) {
	v := readVercelJSON(t)
	if v.Framework != nil {
		t.Errorf(`vercel.json must pin "framework": null`)
	}
	var want, got []string
	for _, rt := range httpapi.Routes {
		want = append(want, "api/"+rt.Function+".go")
		fn, ok := v.Functions["api/"+rt.Function+".go"]
		if !ok {
			t.Errorf("vercel.json has no function api/%s.go", rt.Function)
			continue
		}
		if fn.MaxDuration != rt.MaxDuration {
			t.Errorf("api/%s.go: maxDuration %d in vercel.json, %d in the route table", rt.Function, fn.MaxDuration, rt.MaxDuration)
		}
	}
	for name := range v.Functions {
		got = append(got, name)
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("functions: got %v, want %v", got, want)
	}

	var wantRewrites []string
	for _, rt := range httpapi.Routes {
		if src, dst, ok := rt.Rewrite(); ok {
			wantRewrites = append(wantRewrites, src+" -> "+dst)
		}
	}
	wantRewrites = append(wantRewrites, "/(.*) -> /api/not_found")
	var gotRewrites []string
	for _, r := range v.Rewrites {
		gotRewrites = append(gotRewrites, r.Source+" -> "+r.Destination)
	}
	if strings.Join(gotRewrites, "\n") != strings.Join(wantRewrites, "\n") {
		t.Errorf("rewrites:\ngot\n%s\nwant (in this order; the catch-all last)\n%s", strings.Join(gotRewrites, "\n"), strings.Join(wantRewrites, "\n"))
	}
	if len(v.Crons) != 1 || v.Crons[0].Path != "/api/cron" {
		t.Errorf("crons: got %+v, want one entry for /api/cron", v.Crons)
	}
}

func TestFunctionMaxDurationDefaultMatchesVercelJSON(t *testing.T) {
	v := readVercelJSON(t)
	cfg, err := config.Load(config.Map(map[string]string{"DATABASE_URL": "postgres://x/y", "PROVIDER_BANANA": "fake",
		"PROVIDER_BANANA_PRO": "fake", "PROVIDER_VEO3": "fake"}))
	if err != nil {
		t.Fatal(err)
	}
	got := time.Duration(v.Functions["api/generate.go"].MaxDuration) * time.Second
	if cfg.FunctionMaxDuration != got {
		t.Fatalf("FUNCTION_MAX_DURATION defaults to %s, vercel.json gives api/generate.go %s", cfg.FunctionMaxDuration, got)
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
