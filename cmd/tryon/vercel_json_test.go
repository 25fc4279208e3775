package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tryonhq/tryon/pkg/httpapi"
)

func TestVercelJSONCommandPrintsTheRouteTable(t *testing.T) {
	c := cli{t: t}
	if got := c.must("vercel-json"); got != string(httpapi.VercelJSON()) {
		t.Fatalf("tryon vercel-json printed\n%s", got)
	}
	if _, err := c.run("vercel-json", "extra"); err == nil {
		t.Fatal("an extra argument was accepted")
	}
}

func TestVercelJSONCommandWritesTheRepositorysFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "pkg")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	cli{t: t}.must("vercel-json", "-w")
	got, err := os.ReadFile(filepath.Join(dir, "vercel.json"))
	if err != nil || string(got) != string(httpapi.VercelJSON()) {
		t.Fatalf("vercel.json: %v\n%s", err, got)
	}
}
