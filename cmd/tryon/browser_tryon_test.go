package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// apiCall is one request the browser sent to the API's /generate routes.
type apiCall struct {
	Method, Path string
	Body         map[string]any
}

// recordingProxy stands in front of `tryon dev` as the page's origin and
// keeps what the browser sends to /generate..., so a test reads the request
// the server received, not what the page meant to send.
type recordingProxy struct {
	url   string
	mu    sync.Mutex
	calls []apiCall
}

func newRecordingProxy(t *testing.T, dev devServer) *recordingProxy {
	t.Helper()
	target, _ := url.Parse(dev.url("127.0.0.1", ""))
	// NewSingleHostReverseProxy keeps the Host the browser used, so output
	// URLs (PUBLIC_BASE_URL is unset) point at the proxy, the page's origin.
	proxy := httputil.NewSingleHostReverseProxy(target)
	p := &recordingProxy{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/generate") && r.Method != http.MethodGet {
			raw, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(raw))
			var body map[string]any
			json.Unmarshal(raw, &body) // empty for DELETE and cancel
			p.mu.Lock()
			p.calls = append(p.calls, apiCall{r.Method, r.URL.Path, body})
			p.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

// last is the latest recorded call with method to a path starting with prefix.
func (p *recordingProxy) last(t *testing.T, method, prefix string) apiCall {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.calls) - 1; i >= 0; i-- {
		if c := p.calls[i]; c.Method == method && strings.HasPrefix(c.Path, prefix) {
			return c
		}
	}
	t.Fatalf("no %s %s... was sent; sent: %+v", method, prefix, p.calls)
	return apiCall{}
}

// shownGeneration is the generation in the playground's response body panel.
type shownGeneration struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Service string `json:"service"`
	Output  *struct {
		URL         string `json:"url"`
		ContentType string `json:"content_type"`
		Width       int    `json:"width"`
		Height      int    `json:"height"`
	} `json:"output"`
	Outputs []struct {
		URL string `json:"url"`
	} `json:"outputs"`
	Params *struct {
		Task     string `json:"task"`
		Garments []struct {
			Category  string `json:"category"`
			PhotoType string `json:"photo_type"`
		} `json:"garments"`
		Seed          *int64 `json:"seed"`
		OutputFormat  string `json:"output_format"`
		OutputQuality int    `json:"output_quality"`
	} `json:"params"`
}

func shownBody(b *browser) shownGeneration {
	b.t.Helper()
	var env struct {
		Data shownGeneration `json:"data"`
	}
	raw := eval[string](b, `document.getElementById("json").textContent`)
	if err := json.Unmarshal([]byte(raw), &env); err != nil {
		b.t.Fatalf("the body shown: %v\n%s", err, raw)
	}
	return env.Data
}

// shownID is the id of the generation in the response body panel, or "".
const shownID = `(function () { try { return JSON.parse(document.getElementById("json").textContent).data.id || ""; } catch (e) { return ""; } })()`

// outputShown waits for the result panel's first output to load.
const outputShown = `(function () { var o = document.getElementById("output"); return o && o.complete && o.naturalWidth > 0; })()`

// TestBrowserPlaygroundTryOn drives the playground's try-on task through a
// proxy that records what reached the server: an outfit of two garments
// with categories, photo types, seed, format and variants; the server's
// garment errors next to their fields; a dedicated try-on model; several
// variants; Delete; and Cancel on a running job.
func TestBrowserPlaygroundTryOn(t *testing.T) {
	b := newBrowser(t)
	axe := axeScript(t)
	dev := startDev(t, map[string]string{"FAKE_VIDEO_LATENCY": "5m"})
	proxy := newRecordingProxy(t, dev)
	b.expect(apiErrors)

	b.do("open the playground", chromedp.Navigate(proxy.url+"/"))
	b.waitFor("the page's script", `document.getElementById("service-hint").textContent !== ""`, 10*time.Second)
	setField(b, "key", dev.test)
	b.do("choose the try-on task", chromedp.Click(chromedp.ID("task-tryon")))
	if got := eval[string](b, `document.getElementById("prompt-label").textContent + "|" + document.getElementById("prompt").value + "|" + document.getElementById("prompt").required`); got != "Instruction (optional)||false" {
		t.Errorf("the try-on's prompt field: %q", got)
	}

	t.Run("OutfitSent", func(t *testing.T) {
		b := b.in(t)
		b.do("pick the person and the first garment",
			chromedp.SetUploadFiles(chromedp.ID("person-file"), []string{personPhoto(t, 480, 720)}),
			chromedp.SetUploadFiles(chromedp.ID("garment-file"), []string{garmentPhoto(t, 400, 500)}))
		setField(b, "garment-category", "top")
		setField(b, "garment-photo-type", "flat-lay")
		b.do("add a garment", chromedp.Click(chromedp.ID("garment-add")))
		if id := eval[string](b, `document.activeElement.id`); id != "garment2-file" {
			t.Errorf("focus after Add a garment: %q", id)
		}
		b.do("pick the second garment", chromedp.SetUploadFiles(chromedp.ID("garment2-file"), []string{garmentPhoto(t, 300, 400)}))
		setField(b, "garment2-category", "bottom")
		setField(b, "garment2-photo-type", "model")
		b.waitFor("the thumbnails", `document.querySelectorAll("#person-thumb img, #garment-thumb img, #garment2-thumb img").length === 3`, 10*time.Second)
		setField(b, "num-outputs", "1")
		setField(b, "seed", "42")
		setField(b, "format", "jpeg")
		setField(b, "quality", "80")
		b.checkAccessibility(axe, "the try-on form")
		b.do("press Generate", chromedp.Click(chromedp.ID("submit")))
		b.waitFor("the output", outputShown, 60*time.Second)

		sent := proxy.last(t, http.MethodPost, "/generate").Body
		garments, _ := sent["garments"].([]any)
		want := map[string]any{"task": "tryon", "service": "banana", "num_outputs": 1.0, "seed": 42.0, "output_format": "jpeg", "output_quality": 80.0}
		for k, v := range want {
			if sent[k] != v {
				t.Errorf("sent %s = %v, want %v", k, sent[k], v)
			}
		}
		for _, absent := range []string{"prompt", "garment_image"} {
			if _, ok := sent[absent]; ok {
				t.Errorf("sent %s with a try-on: %v", absent, sent[absent])
			}
		}
		if p, _ := sent["person_image"].(string); !strings.HasPrefix(p, "data:image/png;base64,") {
			t.Errorf("person_image %.40q", p)
		}
		if len(garments) != 2 {
			t.Fatalf("sent %d garments, want 2: %v", len(garments), sent["garments"])
		}
		for i, w := range [][2]string{{"top", "flat-lay"}, {"bottom", "model"}} {
			g, _ := garments[i].(map[string]any)
			img, _ := g["image"].(string)
			if g["category"] != w[0] || g["photo_type"] != w[1] || !strings.HasPrefix(img, "data:image/png;base64,") {
				t.Errorf("garment %d sent as %v %v %.30q, want %v", i, g["category"], g["photo_type"], img, w)
			}
		}

		gen := shownBody(b)
		if gen.Status != "succeeded" || gen.Output == nil || gen.Output.ContentType != "image/jpeg" || gen.Params == nil ||
			gen.Params.Task != "tryon" || len(gen.Params.Garments) != 2 || gen.Params.Seed == nil || *gen.Params.Seed != 42 || gen.Params.OutputQuality != 80 {
			t.Errorf("the generation shown: %+v %+v", gen, gen.Params)
		}
		if src := eval[string](b, `document.getElementById("output").src`); gen.Output == nil || src != gen.Output.URL {
			t.Errorf("the output shown is %q, the generation's %+v", src, gen.Output)
		}
		captions := eval[string](b, `Array.from(document.querySelectorAll("#inputs figcaption")).map(c => c.textContent).join("|")`)
		if captions != "Person|Garment 1: top, flat-lay|Garment 2: bottom, model" {
			t.Errorf("the photos beside the output: %q", captions)
		}
		if status := eval[string](b, `document.getElementById("status").textContent`); !strings.Contains(status, "200 succeeded") || !strings.Contains(status, "seed 42") || !strings.Contains(status, "image/jpeg") {
			t.Errorf("status: %q", status)
		}
		if snippet := eval[string](b, `document.getElementById("curl").textContent`); !strings.Contains(snippet, `"garments":[{"image":"data:image/png;base64,… (`) {
			t.Errorf("the curl snippet does not shorten the garments' data: URLs:\n%.400s", snippet)
		}
		b.shot("tryon-outfit")
		b.readmeShot("playground-tryon", ".play")
		b.checkAccessibility(axe, "the playground with a try-on result")
	})

	t.Run("GarmentErrorsAtTheirFields", func(t *testing.T) {
		b := b.in(t)
		setField(b, "garment2-category", "top")
		b.do("press Generate", chromedp.Click(chromedp.ID("submit")))
		b.waitFor("the 400", `document.getElementById("error").textContent.includes("400")`, 20*time.Second)
		if msg := eval[string](b, `(document.getElementById("garment2-category-error") || {}).textContent || ""`); !strings.Contains(msg, "already in the outfit") {
			t.Errorf("the second garment's category error: %q", msg)
		}
		if id := eval[string](b, `document.activeElement.id`); id != "garment2-category" {
			t.Errorf("focus on %q, want the second garment's category", id)
		}
		b.checkAccessibility(axe, "the try-on form with a garment error")
		setField(b, "garment2-category", "bottom")
	})

	t.Run("DedicatedTryonModel", func(t *testing.T) {
		b := b.in(t)
		b.do("remove the second garment", chromedp.Click(chromedp.ID("garment-remove")))
		if !eval[bool](b, `document.getElementById("garment2-box").hidden`) {
			t.Error("the second garment is still shown")
		}
		setField(b, "service", "fashn")
		if hint := eval[string](b, `document.getElementById("service-hint").textContent`); !strings.Contains(hint, "FASHN") || !strings.Contains(hint, "$0.10") {
			t.Errorf("the service hint: %q", hint)
		}
		setField(b, "format", "png")
		b.do("press Generate", chromedp.Click(chromedp.ID("submit")))
		b.waitFor("the fashn output", outputShown+` && JSON.parse(document.getElementById("json").textContent).data.service === "fashn"`, 60*time.Second)
		sent := proxy.last(t, http.MethodPost, "/generate").Body
		if garments, _ := sent["garments"].([]any); sent["service"] != "fashn" || len(garments) != 1 {
			t.Errorf("sent service %v with %d garments", sent["service"], len(garments))
		}
		if _, ok := sent["output_quality"]; ok {
			t.Error("output_quality sent with png")
		}
		if gen := shownBody(b); gen.Output == nil || gen.Output.Width != 864 || gen.Output.Height != 1296 {
			t.Errorf("fashn's output: %+v", gen.Output)
		}
		setField(b, "service", "banana")
	})

	t.Run("Variants", func(t *testing.T) {
		b := b.in(t)
		setField(b, "num-outputs", "5")
		b.do("press Generate", chromedp.Click(chromedp.ID("submit")))
		b.waitFor("the 400", `document.getElementById("error").textContent.includes("400")`, 20*time.Second)
		if msg := eval[string](b, `(document.getElementById("num-outputs-error") || {}).textContent || ""`); !strings.Contains(msg, "between 1 and 4") {
			t.Errorf("the variants field's error: %q", msg)
		}
		setField(b, "num-outputs", "3")
		b.do("press Generate", chromedp.Click(chromedp.ID("submit")))
		b.waitFor("three variants", `document.querySelectorAll("#gallery img").length === 3 && Array.from(document.querySelectorAll("#gallery img")).every(i => i.complete && i.naturalWidth > 0)`, 60*time.Second)
		gen := shownBody(b)
		if len(gen.Outputs) != 3 || gen.Output == nil || gen.Output.URL != gen.Outputs[0].URL {
			t.Errorf("the generation's outputs: %+v, output %+v", gen.Outputs, gen.Output)
		}
		links := eval[string](b, `Array.from(document.querySelectorAll("#gallery a[download]")).map(a => a.getAttribute("aria-label") + "=" + a.href).join("|")`)
		if strings.Count(links, "Download variant") != 3 || !strings.Contains(links, "Download variant 2="+gen.Outputs[1].URL) {
			t.Errorf("the gallery's links: %q", links)
		}
		b.shot("tryon-variants")
		b.checkAccessibility(axe, "the playground with variants")
		if sent := proxy.last(t, http.MethodPost, "/generate").Body; sent["num_outputs"] != 3.0 {
			t.Errorf("sent num_outputs %v", sent["num_outputs"])
		}
		setField(b, "num-outputs", "")
	})

	t.Run("Delete", func(t *testing.T) {
		b := b.in(t)
		before := eval[string](b, shownID)
		b.do("press Generate", chromedp.Click(chromedp.ID("submit")))
		b.waitFor("a new result to delete", outputShown+` && !document.getElementById("delete").hidden && `+shownID+` !== `+js(before), 60*time.Second)
		id := shownBody(b).ID
		b.do("press Delete", chromedp.Click(chromedp.ID("delete")))
		if got := eval[string](b, `document.getElementById("delete-confirm").hidden + " " + document.activeElement.id`); got != "false delete-no" {
			t.Errorf("the confirmation (hidden, focus): %q", got)
		}
		b.checkAccessibility(axe, "the delete confirmation")
		b.do("keep it", chromedp.Click(chromedp.ID("delete-no")))
		if got := eval[string](b, `document.getElementById("delete-confirm").hidden + " " + document.activeElement.id`); got != "true delete" {
			t.Errorf("after Keep it (hidden, focus): %q", got)
		}
		b.do("press Delete", chromedp.Click(chromedp.ID("delete")))
		b.do("confirm", chromedp.Click(chromedp.ID("delete-yes")))
		b.waitFor("the deletion", `document.querySelector("#status .badge").textContent === "deleted"`, 20*time.Second)
		if text := eval[string](b, `document.getElementById("media").textContent`); !strings.Contains(text, "410 Gone") {
			t.Errorf("the media panel after deleting: %q", text)
		}
		if got := eval[string](b, `document.activeElement.id`); got != "status" {
			t.Errorf("focus after deleting: %q", got)
		}
		// The history lists it as erased; Show says its output is gone.
		row := `Array.from(document.querySelectorAll("#history-table tbody tr")).find(r => r.querySelector("button").getAttribute("data-id") === ` + js(id) + `)`
		b.waitFor("the erased generation in the history", row+` && `+row+`.querySelector(".badge").textContent === "erased"`, 20*time.Second)
		b.do("show it", chromedp.Click(chromedp.JSPath(row+`.querySelector("button")`)))
		b.waitFor("its panel", `document.getElementById("media").textContent.includes("erased")`, 10*time.Second)
		if !eval[bool](b, `document.getElementById("delete").hidden`) {
			t.Error("Delete is offered on an erased generation")
		}
		b.checkAccessibility(axe, "the playground after a deletion")
		if c := proxy.last(t, http.MethodDelete, "/generate/"); c.Path != "/generate/"+id {
			t.Errorf("DELETE %s, want /generate/%s", c.Path, id)
		}
		b.shot("tryon-delete")
	})

	t.Run("CancelARunningJob", func(t *testing.T) {
		b := b.in(t)
		b.do("choose the generate task", chromedp.Click(chromedp.ID("task-generate")))
		// A video takes no photos: the try-on's are cleared, as choosing no file does.
		eval[bool](b, `["person-file", "garment-file"].every(function (id) { var f = document.getElementById(id); f.value = ""; f.dispatchEvent(new Event("change", {bubbles: true})); return true; })`)
		setField(b, "service", "veo3")
		setField(b, "format", "")
		setField(b, "seed", "")
		eval[bool](b, `document.querySelector("details.more").open = true`)
		setField(b, "wait", "0")
		b.do("press Generate", chromedp.Click(chromedp.ID("submit")))
		b.waitFor("the 202 and its Cancel button", `document.querySelector("#status .badge").textContent === "202 processing" && !document.getElementById("cancel").hidden`, 30*time.Second)
		if !eval[bool](b, `document.getElementById("out-actions").hidden`) {
			t.Error("Delete is offered on a running job")
		}
		b.checkAccessibility(axe, "the playground polling a job")
		b.do("press Cancel", chromedp.Click(chromedp.ID("cancel")))
		b.waitFor("the canceled generation", `document.querySelector("#status .badge").textContent === "200 canceled" && document.getElementById("cancel").hidden`, 20*time.Second)
		if text := eval[string](b, `document.getElementById("media").textContent + "|" + document.getElementById("cancel-note").textContent`); !strings.Contains(text, "Canceled: nothing was made") {
			t.Errorf("after canceling: %q", text)
		}
		b.waitFor("canceled in the history", `document.querySelector("#history-table tbody tr .badge").textContent === "canceled"`, 20*time.Second)
		b.checkAccessibility(axe, "the playground with a canceled job")
		loc := proxy.last(t, http.MethodPost, "/generate/")
		if !strings.HasSuffix(loc.Path, "/cancel") {
			t.Errorf("the cancel request went to %s", loc.Path)
		}
		b.shot("cancel")
	})
}
