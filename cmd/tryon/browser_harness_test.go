package main

// The harness of the browser tests: `tryon dev` run in-process on a
// loopback port against a throwaway PostgreSQL, and Debian's chromium
// driven over the DevTools protocol (github.com/chromedp/chromedp). A test
// fails on any console error, uncaught exception or Content-Security-Policy
// violation, keeps a screenshot of every step in t.ArtifactDir() (kept with
// `go test -artifacts -outputdir DIR`), and runs axe-core on each page.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/syncbuffer"
)

// Where the browser tests find their tools, and how a developer installs
// them. In CI (CI=true) a missing tool fails the test; elsewhere it skips
// it with the install command.
const (
	chromiumInstall = "apt-get install -y chromium"
	axeInstall      = "npm install --prefix ~/.cache/tryon-axe-core axe-core@4"
)

// missingTool fails (in CI) or skips (elsewhere) a test that lacks a tool.
func missingTool(t *testing.T, what, install string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing; CI needs it: %s", what, install)
	}
	t.Skipf("%s is missing; install it to run the browser tests: %s", what, install)
}

// chromiumPath finds the browser: $TRYON_CHROMIUM, else Debian's chromium
// (or another Chromium-based browser) on PATH.
func chromiumPath() string {
	if p := os.Getenv("TRYON_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// axeScript reads axe-core's browser bundle: $TRYON_AXE_CORE (a path to
// axe.min.js), else the copy .ci/run installs in ~/.cache/tryon-axe-core.
func axeScript(t *testing.T) string {
	t.Helper()
	path := os.Getenv("TRYON_AXE_CORE")
	if path == "" {
		home, _ := os.UserHomeDir()
		path = filepath.Join(home, ".cache", "tryon-axe-core", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		missingTool(t, "axe-core ("+path+")", axeInstall)
	}
	return string(b)
}

// devServer is a running `tryon dev`.
type devServer struct {
	db                   string
	port                 string
	live, test, adminKey string
}

// url is the address of path on host (localhost or 127.0.0.1).
func (d devServer) url(host, path string) string { return "http://" + host + ":" + d.port + path }

// startDev runs `tryon dev -port 0` in-process against a fresh database,
// with env on top of dev's defaults, until the test ends.
func startDev(t *testing.T, env map[string]string) devServer {
	t.Helper()
	db := pgtest.URL(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncbuffer.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"dev", "-port", "0"}, func(n string) (string, bool) {
			if n == "DATABASE_URL" {
				return db, true
			}
			v, ok := env[n]
			return v, ok
		}, &out, &errOut)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev ended with %v", err)
		}
	})
	started := regexp.MustCompile(`running at http://localhost:(\d+)`)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		s := out.String()
		if m := started.FindStringSubmatch(s); m != nil && strings.Contains(s, "curl") {
			return devServer{
				db:       db,
				port:     m[1],
				live:     regexp.MustCompile(`tryon_live_\w+`).FindString(s),
				test:     regexp.MustCompile(`tryon_test_\w+`).FindString(s),
				adminKey: regexp.MustCompile(`tryon_admin_\w+`).FindString(s),
			}
		}
	}
	t.Fatalf("dev did not start:\n%s\n%s", out.String(), errOut.String())
	return devServer{}
}

// browser is one headless chromium tab that records what went wrong on its
// pages.
type browser struct {
	t   *testing.T
	ctx context.Context
	*tab
}

// tab is what the tests of one browser share: what went wrong, and the
// numbered screenshots in the top-level test's artifact folder.
type tab struct {
	dir      string
	mu       sync.Mutex
	problems []string
	// expected says whether a failed network request is one the test asked
	// for (an error path), so Chrome's "Failed to load resource" line for it
	// is not a problem.
	expected func(url string) bool
	shots    int
}

// reportScript runs in every page before its own scripts: it turns a
// Content-Security-Policy violation (which pages may not notice) into a
// console error the harness sees.
const reportScript = `document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + e.blockedURI + " at " + e.sourceFile + ":" + e.lineNumber);
}, true);`

// newBrowser starts chromium for t; the browser is closed when t ends.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := chromiumPath()
	if exe == "" {
		missingTool(t, "chromium", chromiumInstall)
	}
	ctx, cancel := chromedp.NewContext(context.Background(), chromedp.WithAllocatorOptions(
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // CI runs as root, where Chrome's sandbox cannot start
		chromedp.Headless,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1280, 900),
	))
	t.Cleanup(cancel)
	b := &browser{t: t, ctx: ctx, tab: &tab{dir: t.ArtifactDir(), expected: func(string) bool { return false }}}
	messages := chromedp.Console(ctx)
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: reportScript}); err != nil {
		t.Fatalf("start chromium (%s): %v", exe, err)
	}
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.record(m)
		}
	}()
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("browser: %s", p)
		}
	})
	return b
}

// in is the browser for a subtest: its failures end that subtest.
func (b *browser) in(t *testing.T) *browser { return &browser{t: t, ctx: b.ctx, tab: b.tab} }

// failedLoad is Chrome's log line for a request answered with an error.
var failedLoad = regexp.MustCompile(`^Failed to load resource: the server responded with a status of \d+`)

func (b *browser) record(m chromedp.ConsoleMessage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case m.Type == chromedp.ConsoleException:
		b.problems = append(b.problems, "uncaught exception: "+m.Text+" at "+m.URL)
	case m.Type == chromedp.ConsoleError && m.Source == "network" && failedLoad.MatchString(m.Text) && b.expected(m.URL):
		// An error answer the test provoked.
	case m.Type == chromedp.ConsoleError:
		b.problems = append(b.problems, fmt.Sprintf("console error (%s): %s at %s", m.Source, m.Text, m.URL))
	case m.Type == chromedp.ConsoleWarning && m.Source == "security":
		b.problems = append(b.problems, "security warning: "+m.Text)
	}
}

// problemsSoFar lists what went wrong on the pages, to explain a timeout.
func (b *browser) problemsSoFar() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) == 0 {
		return ""
	}
	return "\nthe browser reported:\n  " + strings.Join(b.problems, "\n  ")
}

// expect declares which failing requests the test provokes from now on.
func (b *browser) expect(f func(url string) bool) {
	b.mu.Lock()
	b.expected = f
	b.mu.Unlock()
}

// apiErrors accepts error answers from the API's JSON routes: the error
// paths the playground and the widget must show well.
func apiErrors(url string) bool {
	for _, p := range []string{"/generate", "/generations", "/metrics", "/token"} {
		if strings.Contains(url, p) {
			return true
		}
	}
	return false
}

// do runs actions, failing the test on an error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failed-" + what)
		b.t.Fatalf("%s: %v%s", what, err, b.problemsSoFar())
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it is truthy.
func (b *browser) waitFor(what, cond string, timeout time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+cond+")", chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.shot("timeout-" + what)
		b.t.Fatalf("waiting for %s (%s): %v%s", what, cond, err, b.problemsSoFar())
	}
}

// shot saves a screenshot of the whole page as the next numbered step.
func (b *browser) shot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	b.mu.Lock()
	b.shots++
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.shots, name))
	b.mu.Unlock()
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return path
}

// readmeShot saves the part of the page that the elements matching css
// cover (the viewport for ""), as a screenshot for the README, when TRYON_README_SCREENSHOTS
// names a folder (docs/screenshots): `go test -run TestBrowser ./cmd/tryon`
// with it set remakes them.
func (b *browser) readmeShot(name, css string) {
	b.t.Helper()
	dir := os.Getenv("TRYON_README_SCREENSHOTS")
	if dir == "" {
		return
	}
	box := eval[page.Viewport](b, `(function () {
		if (`+js(css)+` === "") return {x: 0, y: scrollY, width: innerWidth, height: innerHeight, scale: 0.65};
		var top = Infinity, left = Infinity, bottom = 0, right = 0;
		document.querySelectorAll(`+js(css)+`).forEach(function (e) {
			var r = e.getBoundingClientRect();
			top = Math.min(top, r.top); left = Math.min(left, r.left); bottom = Math.max(bottom, r.bottom); right = Math.max(right, r.right);
		});
		return {x: left + scrollX - 8, y: top + scrollY - 8, width: right - left + 16, height: bottom - top + 16, scale: 0.65};
	})()`)
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	png, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{Clip: &box, CaptureBeyondViewport: ptrTo(true)})
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png.Data, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func ptrTo[T any](v T) *T { return &v }

// grantClipboard lets origin's pages use the Clipboard API, as a user's
// click on "Allow" would.
func (b *browser) grantClipboard(origin string) {
	b.t.Helper()
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
			Setting:    cdpbrowser.PermissionSettingGranted, Origin: origin,
		})
		if err != nil {
			b.t.Fatalf("grant %s: %v", name, err)
		}
	}
}

// axeViolation is what axe-core reports for one rule.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// checkAccessibility runs axe-core on the page as it stands (open shadow
// roots included) and fails on any violation.
func (b *browser) checkAccessibility(axe, what string) {
	b.t.Helper()
	if !eval[bool](b, `typeof window.axe === "object"`) {
		eval[bool](b, axe+";true")
	}
	raw := eval[string](b, `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`)
	var violations []axeViolation
	if err := json.Unmarshal([]byte(raw), &violations); err != nil {
		b.t.Fatalf("axe-core answer: %v\n%s", err, raw)
	}
	for _, v := range violations {
		for _, n := range v.Nodes {
			b.t.Errorf("accessibility (%s): %s [%s, %s] at %v: %s", what, v.Help, v.ID, v.Impact, n.Target, n.Summary)
		}
	}
}
