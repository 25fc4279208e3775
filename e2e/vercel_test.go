package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apikey"
	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type envelope struct {
	Success bool            `json:"success"`
	Code    string          `json:"code"`
	Data    json.RawMessage `json:"data"`
}

type generation struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Output *struct {
		URL         string `json:"url"`
		ContentType string `json:"content_type"`
	} `json:"output"`
}

func TestVercelBundleEndToEnd(t *testing.T) {
	sim := os.Getenv("TRYON_E2E_VERCEL_SIM")
	if sim == "" {
		t.Skip("set TRYON_E2E_VERCEL_SIM (and TRYON_E2E_VERCEL_CLI) to run the bundle under vercel-sim; .ci/run does")
	}
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	pool, err := postgres.OpenPool(dbURL, postgres.PoolOptions{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	store := postgres.NewStore(pool)
	defer store.Close()
	c, err := store.CreateClient(ctx, postgres.NewClient{Name: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := apikey.New(tryon.KeyTest)
	if _, err := store.CreateKey(ctx, &c.ID, k, "e2e", nil); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	envFile := filepath.Join(dir, "env")
	settings := fmt.Sprintf("DATABASE_URL=%s\nPROVIDER_BANANA=fake\nPROVIDER_BANANA_PRO=fake\nPROVIDER_VEO3=fake\nCRON_SECRET=e2e-secret\nFAKE_VIDEO_LATENCY=2s\n", dbURL)
	if err := os.WriteFile(envFile, []byte(settings), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	repo, _ := filepath.Abs("..")
	args := []string{"-build", "-addr", addr, "-env-file", envFile, "-deadline-header"}
	if cli := os.Getenv("TRYON_E2E_VERCEL_CLI"); cli != "" {
		args = append(args, "-vercel", cli)
	}
	cmd := exec.Command(sim, append(args, repo)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	ready := make(chan struct{})
	var logs strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "listening on") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Minute):
		t.Fatalf("vercel-sim did not start:\n%s", logs.String())
	}
	base := "http://" + addr

	do := func(method, path, body string, headers ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	decode := func(b []byte) (envelope, generation) {
		t.Helper()
		var e envelope
		var g generation
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("not the envelope: %s", b)
		}
		_ = json.Unmarshal(e.Data, &g)
		return e, g
	}

	if resp, b := do("GET", "/health", ""); resp.StatusCode != 200 || !strings.Contains(string(b), `"database":"ok"`) {
		t.Fatalf("health: %d %s", resp.StatusCode, b)
	}
	resp, b := do("POST", "/generate", `{"prompt":"a linen shirt","width":640,"height":960}`, "x-client-key", k.Secret)
	_, g := decode(b)
	if resp.StatusCode != 200 || g.Status != "succeeded" || g.Output == nil {
		t.Fatalf("generate: %d %s", resp.StatusCode, b)
	}
	img, err := http.Get(g.Output.URL)
	if err != nil {
		t.Fatal(err)
	}
	imgBody, _ := io.ReadAll(img.Body)
	img.Body.Close()
	if img.StatusCode != 200 || img.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(string(imgBody), "\x89PNG") {
		t.Fatalf("asset %s: %d %s", g.Output.URL, img.StatusCode, img.Header)
	}
	if resp, b := do("GET", "/generate/"+g.ID, "", "Authorization", "Bearer "+k.Secret); resp.StatusCode != 200 {
		t.Fatalf("get: %d %s", resp.StatusCode, b)
	}
	if resp, b := do("GET", "/generate/"+uuid.NewString(), "", "x-client-key", k.Secret); resp.StatusCode != 404 {
		t.Fatalf("unknown id: %d %s", resp.StatusCode, b)
	}
	if resp, b := do("GET", "/no/such/route", ""); resp.StatusCode != 404 || !strings.Contains(string(b), `"code":"not_found"`) {
		t.Fatalf("unknown route: %d %s", resp.StatusCode, b)
	}
	for _, private := range []string{"/schema.sql", "/go.mod", "/README.md", "/pkg/app/app.go"} {
		if resp, b := do("GET", private, ""); resp.StatusCode != 404 || strings.Contains(string(b), "CREATE TABLE") {
			t.Fatalf("%s is served: %d", private, resp.StatusCode)
		}
	}
	if resp, _ := do("GET", "/api/cron", ""); resp.StatusCode != 401 {
		t.Fatalf("cron without the secret: %d", resp.StatusCode)
	}

	// A video: 202 with Location, then polling the Location finishes it.
	resp, b = do("POST", "/generate", `{"prompt":"a jacket turning","service":"veo3","duration_seconds":4}`,
		"x-client-key", k.Secret, "Prefer", "wait=1")
	_, g = decode(b)
	if resp.StatusCode != 202 || g.Status != "processing" || resp.Header.Get("Location") != "/generate/"+g.ID {
		t.Fatalf("video: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	deadline := time.Now().Add(time.Minute)
	for g.Status == "processing" && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond) // a client polling, as documented
		_, b = do("GET", resp.Header.Get("Location"), "", "x-client-key", k.Secret)
		_, g = decode(b)
	}
	if g.Status != "succeeded" || g.Output == nil || g.Output.ContentType != "video/mp4" {
		t.Fatalf("video did not finish: %s", b)
	}
	vid, err := http.Get(g.Output.URL)
	if err != nil {
		t.Fatal(err)
	}
	vidBody, _ := io.ReadAll(vid.Body)
	vid.Body.Close()
	if vid.StatusCode != 200 || string(vidBody[4:8]) != "ftyp" {
		t.Fatalf("video asset: %d", vid.StatusCode)
	}
	if resp, b := do("GET", "/api/cron", "", "Authorization", "Bearer e2e-secret"); resp.StatusCode != 200 {
		t.Fatalf("cron: %d %s", resp.StatusCode, b)
	}
	if !strings.Contains(logs.String(), "cold start") {
		t.Fatalf("the simulator ran no function:\n%s", logs.String())
	}
}
