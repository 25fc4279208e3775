package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserWidgetTryOnSettings embeds the widget on another origin with
// the shop's try-on settings as data- attributes and checks what reached
// the server (the generation's service and params) and what the dialog
// shows: a category, photo type and dedicated model; several variants to
// choose from; and a setting the server refuses.
func TestBrowserWidgetTryOnSettings(t *testing.T) {
	b := newBrowser(t)
	axe := axeScript(t)
	dev := startDev(t, nil)
	shop := newTestShop(t, dev)
	shop.answer(0, mintToken(t, dev, dev.test, shop.url, 900))
	photo := personPhoto(t, 600, 800)
	base := dev.url("127.0.0.1", "")

	open := func(b *browser, settings url.Values) {
		b.t.Helper()
		b.do("open the shop", chromedp.Navigate(shop.url+"/product?"+settings.Encode()))
		b.waitFor("the try-on button", widgetButton, 20*time.Second)
		b.do("press the button", chromedp.Click(chromedp.JSPath(widgetButton)))
		b.waitFor("the dialog", widgetDialog+`.open`, 10*time.Second)
		pickPhoto(b, photo)
		b.do("press Generate", chromedp.Click(widgetButtonNamed("Generate")))
	}

	t.Run("CategoryPhotoTypeService", func(t *testing.T) {
		b := b.in(t)
		open(b, url.Values{"category": {"top"}, "photo-type": {"model"}, "service": {"fashn"}})
		waitResult(b)
		gens := listGenerations(t, base, dev.test)
		if len(gens) != 1 {
			t.Fatalf("%d generations, want 1", len(gens))
		}
		g := gens[0]
		if g.Service != "fashn" || g.Prompt != "" || g.Params == nil || g.Params.Task != "tryon" || len(g.Params.Garments) != 1 ||
			g.Params.Garments[0].Category != "top" || g.Params.Garments[0].PhotoType != "model" {
			t.Errorf("the widget's try-on reached the server as service %q, prompt %q, params %+v", g.Service, g.Prompt, g.Params)
		}
		// FASHN answers 864×1296, whatever the photo's proportions.
		if size := eval[string](b, `(function () { var i = `+widgetDialog+`.querySelector(".result img"); return i.naturalWidth + "x" + i.naturalHeight; })()`); size != "864x1296" {
			t.Errorf("the picture shown is %s, want fashn's 864x1296", size)
		}
		if n := eval[int](b, widgetDialog+`.querySelectorAll(".vs button").length`); n != 0 {
			t.Errorf("%d variant buttons for one picture", n)
		}
		b.shot("widget-fashn")
	})

	t.Run("Variants", func(t *testing.T) {
		b := b.in(t)
		open(b, url.Values{"category": {"one-piece"}, "variants": {"3"}})
		b.waitFor("three variants", `(function () { var v = `+widgetDialog+`.querySelectorAll(".vs img"); return v.length === 3 && Array.from(v).every(i => i.complete && i.naturalWidth > 0); })()`, 60*time.Second)
		gens := listGenerations(t, base, dev.test)
		if len(gens[0].Outputs) != 3 {
			t.Fatalf("the generation has %d outputs, want 3", len(gens[0].Outputs))
		}
		big := widgetDialog + `.querySelector(".result img")`
		if src := eval[string](b, big+`.src`); src != gens[0].Outputs[0].URL {
			t.Errorf("shown first: %q, want the first output %q", src, gens[0].Outputs[0].URL)
		}
		b.checkAccessibility(axe, "the widget with variants")
		b.do("choose the second variant", chromedp.Click(chromedp.JSPath(widgetDialog+`.querySelectorAll(".vs button")[1]`)))
		if src := eval[string](b, big+`.src`); src != gens[0].Outputs[1].URL {
			t.Errorf("shown after choosing the second: %q, want %q", src, gens[0].Outputs[1].URL)
		}
		got := eval[string](b, `Array.from(`+widgetDialog+`.querySelectorAll(".vs button")).map(b => b.getAttribute("aria-pressed")).join(",") + " " + `+widgetRoot+`.activeElement.getAttribute("aria-label")`)
		if got != "false,true,false Variant 2 of 3" {
			t.Errorf("after choosing the second (pressed, focus): %q", got)
		}
		b.shot("widget-variants")
	})

	t.Run("RefusedSetting", func(t *testing.T) {
		b := b.in(t)
		b.expect(apiErrors)
		defer b.expect(func(string) bool { return false })
		// A video model cannot do a try-on: the shop's tag is wrong, and
		// another photo would not help.
		open(b, url.Values{"category": {"top"}, "service": {"veo3"}})
		b.waitFor("an error message", widgetDialog+`.querySelector("[role=alert]")`, 60*time.Second)
		msg := eval[string](b, widgetDialog+`.querySelector("[role=alert]").textContent`)
		if !strings.Contains(msg, "Try-on is not set up right on this page") || !strings.Contains(msg, "service") {
			t.Errorf("message: %q", msg)
		}
		if again := eval[bool](b, `!!Array.from(`+widgetDialog+`.querySelectorAll("button")).find(b => b.textContent === "Try again")`); again {
			t.Error("Try again is offered for a setting another try cannot fix")
		}
		b.checkAccessibility(axe, "the widget refusing a setting")
	})
}
