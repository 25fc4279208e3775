package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// setField sets a form field's value the way typing does (input and change
// events).
func setField(b *browser, id, value string) {
	b.t.Helper()
	eval[bool](b, `(function () { var e = document.getElementById(`+js(id)+`); e.value = `+js(value)+`;
		e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`)
}

// generateOverHTTP makes a generation with key, as a tenant's server would,
// and checks the answer's status.
func generateOverHTTP(t *testing.T, base, key, prompt string, want int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/generate", strings.NewReader(`{"prompt":`+js(prompt)+`,"width":256,"height":256}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-client-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("POST /generate %q: %d, want %d", prompt, resp.StatusCode, want)
	}
}

// TestBrowserPlayground drives the playground at / in chromium: the error
// paths, a try-on generation with photos at 127.0.0.1 and an image at
// localhost, copying, history with paging, the usage chart, and a video
// job polled to completion.
func TestBrowserPlayground(t *testing.T) {
	b := newBrowser(t)
	axe := axeScript(t)
	dev := startDev(t, map[string]string{"FAKE_VIDEO_LATENCY": "2s"})
	at := dev.url("127.0.0.1", "")

	b.do("open the playground", chromedp.Navigate(at+"/"))
	b.waitFor("history hint", `document.getElementById("history-note").textContent.includes("Enter an API key")`, 10*time.Second)
	b.shot("playground")
	b.checkAccessibility(axe, "the playground, empty")

	t.Run("MissingKey", func(t *testing.T) {
		b := b.in(t)
		b.do("press Generate", chromedp.Click(chromedp.ID("submit")))
		b.waitFor("the key's inline error", `document.getElementById("key").getAttribute("aria-invalid") === "true"`, 10*time.Second)
		if msg := eval[string](b, `document.getElementById("key-error").textContent`); !strings.Contains(msg, "Enter an API key") {
			t.Errorf("the key's message: %q", msg)
		}
		if id := eval[string](b, `document.activeElement.id`); id != "key" {
			t.Errorf("focus is on %q, want the key field", id)
		}
		if !eval[bool](b, `document.getElementById("key").getAttribute("aria-describedby").split(" ").includes("key-error")`) {
			t.Error("the key's message is not tied to the field with aria-describedby")
		}
		b.shot("missing-key")
	})

	t.Run("InvalidKeyThenStaleErrorCleared", func(t *testing.T) {
		b := b.in(t)
		b.expect(apiErrors)
		b.do("type a wrong key", chromedp.SendKeys(chromedp.ID("key"), "tryon_test_nope"))
		b.do("press Generate", chromedp.Click(chromedp.ID("submit")))
		b.waitFor("the 401", `!document.getElementById("error").hidden && document.getElementById("error").textContent.includes("401")`, 20*time.Second)
		if msg := eval[string](b, `document.getElementById("key-error").textContent`); !strings.Contains(msg, "invalid API key") {
			t.Errorf("the key's message after a 401: %q", msg)
		}
		b.shot("invalid-key")
		setField(b, "key", "")
		b.do("press Generate", chromedp.Click(chromedp.ID("submit")))
		b.waitFor("the missing-key message", `document.getElementById("key-error") && document.getElementById("key-error").textContent.includes("Enter an API key")`, 10*time.Second)
		if !eval[bool](b, `document.getElementById("error").hidden`) {
			t.Error("the 401 of the previous attempt is still on screen")
		}
	})

	t.Run("InlineFieldErrors", func(t *testing.T) {
		b := b.in(t)
		setField(b, "key", dev.test)
		setField(b, "prompt", "   ")
		setField(b, "width", "10")
		b.do("press Generate", chromedp.Click(chromedp.ID("submit")))
		b.waitFor("the 400", `document.getElementById("error").textContent.includes("400")`, 20*time.Second)
		for _, id := range []string{"prompt", "width"} {
			if got := eval[string](b, `document.getElementById(`+js(id)+`).getAttribute("aria-invalid") || ""`); got != "true" {
				t.Errorf("%s: aria-invalid %q", id, got)
			}
			if msg := eval[string](b, `(document.getElementById(`+js(id+"-error")+`) || {}).textContent || ""`); msg == "" {
				t.Errorf("%s: no message next to the field", id)
			}
		}
		if id := eval[string](b, `document.activeElement.id`); id != "prompt" {
			t.Errorf("focus is on %q, want the first invalid field", id)
		}
		if eval[string](b, `document.getElementById("height").getAttribute("aria-invalid") || ""`) != "" {
			t.Error("a valid field is marked invalid")
		}
		b.shot("field-errors")
		b.checkAccessibility(axe, "the playground with field errors")
		setField(b, "prompt", "Put the garment on the person")
		if eval[string](b, `document.getElementById("prompt").getAttribute("aria-invalid") || ""`) != "" {
			t.Error("editing the field did not clear its error")
		}
		setField(b, "width", "512")
	})

	t.Run("TryOnAt127", func(t *testing.T) {
		b := b.in(t)
		b.expect(func(string) bool { return false })
		setField(b, "height", "640")
		b.do("pick the photos",
			chromedp.SetUploadFiles(chromedp.ID("person-file"), []string{personPhoto(t, 480, 720)}),
			chromedp.SetUploadFiles(chromedp.ID("garment-file"), []string{garmentPhoto(t, 400, 500)}))
		b.waitFor("the thumbnails", `document.querySelectorAll("#person-thumb img, #garment-thumb img").length === 2`, 10*time.Second)
		b.do("press Generate", chromedp.Click(chromedp.ID("submit")))
		b.waitFor("the output image", `(function () { var o = document.getElementById("output"); return o && o.complete && o.naturalWidth > 0; })()`, 60*time.Second)
		src := eval[string](b, `document.getElementById("output").src`)
		if !strings.HasPrefix(src, at+"/assets/") {
			t.Errorf("the output %q is not served from the page's own origin %s", src, at)
		}
		if n := eval[int](b, `document.querySelectorAll("#inputs img").length`); n != 2 {
			t.Errorf("%d input photos beside the output, want 2", n)
		}
		if dl := eval[string](b, `document.getElementById("download").getAttribute("download") + " " + document.getElementById("download").href`); !strings.HasPrefix(dl, "tryon-") || !strings.HasSuffix(dl, " "+src) {
			t.Errorf("download link: %q", dl)
		}
		if badge := eval[string](b, `document.querySelector("#status .badge").textContent`); badge != "200 succeeded" {
			t.Errorf("status: %q", badge)
		}
		b.shot("try-on")
		b.readmeShot("playground", ".play")
		b.checkAccessibility(axe, "the playground with a result")
	})

	t.Run("Copy", func(t *testing.T) {
		b := b.in(t)
		b.grantClipboard(at)
		for _, what := range []string{"json", "curl", "js"} {
			b.do("copy "+what, chromedp.Click(chromedp.CSS(`button[data-copy="`+what+`"]`)))
			b.waitFor(what+" copied", `document.querySelector('button[data-copy="`+what+`"]').textContent === "Copied"`, 10*time.Second)
			got := eval[string](b, `navigator.clipboard.readText()`)
			want := eval[string](b, `document.getElementById(`+js(what)+`).textContent`)
			if got != want || got == "" {
				t.Errorf("copy %s: the clipboard holds %.80q, want %.80q", what, got, want)
			}
		}
		snippet := eval[string](b, `document.getElementById("js").textContent`)
		if !strings.Contains(snippet, `fetch("`+at+`/generate"`) || !strings.Contains(snippet, "person_image") {
			t.Errorf("the fetch snippet:\n%s", snippet)
		}
	})

	t.Run("HistoryPages", func(t *testing.T) {
		b := b.in(t)
		for i := range 11 {
			generateOverHTTP(t, at, dev.test, "history item "+strconv.Itoa(i), 200)
		}
		b.do("refresh the history", chromedp.Click(chromedp.ID("history-refresh")))
		b.waitFor("a full first page", `document.querySelectorAll("#history-table tbody tr").length === 10 && !document.getElementById("history-more").hidden`, 20*time.Second)
		if first := eval[string](b, `document.querySelector("#history-table tbody tr td.prompt").textContent`); first != "history item 10" {
			t.Errorf("the newest generation first: got %q", first)
		}
		b.do("load more", chromedp.Click(chromedp.ID("history-more")))
		b.waitFor("the second page", `document.querySelectorAll("#history-table tbody tr").length === 12`, 20*time.Second)
		if !eval[bool](b, `document.getElementById("history-more").hidden`) {
			t.Error("Load more is offered after the last page")
		}
		b.do("show the oldest", chromedp.Click(chromedp.CSS(`#history-table tbody tr:last-child button`)))
		b.waitFor("it in the result panel", `(function () { var o = document.getElementById("output"); return o && o.complete && o.naturalWidth > 0 && document.getElementById("json").textContent.includes("Put the garment"); })()`, 20*time.Second)
		b.do("scroll to the history", chromedp.ScrollIntoView(chromedp.ID("history")))
		b.shot("history")
	})

	t.Run("UsageChart", func(t *testing.T) {
		b := b.in(t)
		generateOverHTTP(t, at, dev.live, "a live one", 200)
		generateOverHTTP(t, at, dev.live, "another live one", 200)
		generateOverHTTP(t, at, dev.live, "a failing one [fake:error]", 502)
		setField(b, "key", dev.live)
		b.waitFor("today's bar", `document.querySelector("#usage-chart g.day[data-generations='3']")`, 20*time.Second)
		if n := eval[int](b, `document.querySelectorAll("#usage-chart g.day rect.bar.failed").length`); n != 1 {
			t.Errorf("%d failed bars, want 1", n)
		}
		totals := eval[string](b, `document.getElementById("totals").textContent`)
		if !strings.Contains(totals, "Live generations: 3") || !strings.Contains(totals, "Test generations (not charted, not billed): 12") {
			t.Errorf("totals: %q", totals)
		}
		if desc := eval[string](b, `document.getElementById("chart-desc").textContent`); !strings.Contains(desc, "3 live generations over 30 days") {
			t.Errorf("the chart's description: %q", desc)
		}
		b.do("scroll to the chart", chromedp.ScrollIntoView(chromedp.ID("usage")))
		b.shot("usage-chart")
		b.readmeShot("playground-history-usage", "#history, #usage")
		b.checkAccessibility(axe, "the playground with history and chart")
	})

	t.Run("VideoToCompletion", func(t *testing.T) {
		b := b.in(t)
		b.expect(func(string) bool { return false })
		setField(b, "key", dev.test)
		setField(b, "service", "veo3")
		setField(b, "prompt", "a dress turning slowly")
		eval[bool](b, `document.querySelector("details.more").open = true`)
		setField(b, "wait", "0")
		b.do("press Generate", chromedp.Click(chromedp.ID("submit")))
		b.waitFor("the 202", `document.querySelector("#status .badge").textContent === "202 processing"`, 30*time.Second)
		b.shot("video-processing")
		b.waitFor("the video", `(function () { var v = document.getElementById("output"); return v && v.tagName === "VIDEO" && v.readyState >= 1; })()`, 90*time.Second)
		loc := eval[string](b, `Array.from(document.querySelectorAll("#headers tbody tr")).filter(r => r.querySelector("th").textContent === "Location").map(r => r.querySelector("td").textContent).join("|")`)
		if !strings.HasPrefix(loc, "/generate/") || !strings.Contains(loc, "from the 202") {
			t.Errorf("the 202's Location after polling: %q", loc)
		}
		if badge := eval[string](b, `document.querySelector("#status .badge").textContent`); badge != "200 succeeded" {
			t.Errorf("status: %q", badge)
		}
		b.shot("video-done")
	})

	t.Run("ImageAtLocalhost", func(t *testing.T) {
		b := b.in(t)
		home := dev.url("localhost", "")
		b.do("open the playground at localhost", chromedp.Navigate(home+"/"))
		setField(b, "key", dev.test)
		setField(b, "width", "256")
		setField(b, "height", "256")
		b.do("press Generate", chromedp.Click(chromedp.ID("submit")))
		b.waitFor("the output image", `(function () { var o = document.getElementById("output"); return o && o.complete && o.naturalWidth > 0; })()`, 60*time.Second)
		if src := eval[string](b, `document.getElementById("output").src`); !strings.HasPrefix(src, home+"/assets/") {
			t.Errorf("output %q at localhost", src)
		}
		b.shot("localhost")
	})
}
