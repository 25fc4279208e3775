package generation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"net/http"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/blob/blobfake"
	"github.com/tryonhq/tryon/pkg/fal/falfake"
	"github.com/tryonhq/tryon/pkg/gemini/geminifake"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/vertex/vertexfake"
)

// tryonBody is a try-on of one top on a person with no prompt, asking for
// n outputs, plus extra fields.
func tryonBody(t *testing.T, n int, extra map[string]any) map[string]any {
	t.Helper()
	body := map[string]any{"task": "tryon", "person_image": pngDataURL(t, 60, 80, color.White), "num_outputs": n,
		"garments": []map[string]any{{"image": pngDataURL(t, 8, 8, color.Black), "category": "top"}}}
	for k, v := range extra {
		body[k] = v
	}
	return body
}

// fetchOutputs downloads every output of g and checks each against what
// the generation says of it.
func fetchOutputs(t *testing.T, env *apptest.Env, g apptest.Generation) [][]byte {
	t.Helper()
	var out [][]byte
	for i, o := range g.Outputs {
		var body []byte
		var ctype string
		if strings.HasPrefix(o.URL, env.URL) {
			r := env.Do(http.MethodGet, strings.TrimPrefix(o.URL, env.URL), "", nil)
			if r.Status != 200 {
				t.Fatalf("output %d: GET %s: %d", i, o.URL, r.Status)
			}
			body, ctype = r.Body, r.Header.Get("Content-Type")
		} else {
			resp, err := http.Get(o.URL)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("output %d: GET %s: %d", i, o.URL, resp.StatusCode)
			}
			body, ctype = buf.Bytes(), resp.Header.Get("Content-Type")
		}
		if ctype != o.ContentType || int64(len(body)) != o.Bytes {
			t.Fatalf("output %d served as %s, %d bytes; the generation says %+v", i, ctype, len(body), o)
		}
		out = append(out, body)
	}
	return out
}

// TestSeveralOutputsAreStoredReturnedAndBilledEach asks the fake provider
// for three JPEG variants of a try-on with no prompt: three distinct
// outputs come back, each stored, the first also as output, and the
// tenant pays three times the price, in one usage record.
func TestSeveralOutputsAreStoredReturnedAndBilledEach(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	r := env.Generate(shop.LiveKey, tryonBody(t, 3, map[string]any{"output_format": "jpeg", "seed": 11}))
	g := r.Generation(t)
	if r.Status != 200 || g.NumOutputs != 3 || len(g.Outputs) != 3 || g.CostMicros != 3*40_000 {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	if *g.Output != g.Outputs[0] || *g.ImageURL != g.Outputs[0].URL {
		t.Fatalf("output %+v is not the first of outputs %+v", g.Output, g.Outputs)
	}
	bodies := fetchOutputs(t, env, g)
	seen := map[string]int{}
	for i, b := range bodies {
		if g.Outputs[i].ContentType != "image/jpeg" {
			t.Fatalf("output %d is %s, want image/jpeg", i, g.Outputs[i].ContentType)
		}
		if j, dup := seen[string(b)]; dup {
			t.Fatalf("outputs %d and %d are the same image: the variants must differ", j, i)
		}
		seen[string(b)] = i
	}
	if g.Params == nil || g.Params.Seed == nil || *g.Params.Seed != 11 {
		t.Fatalf("params %+v: the seed asked for is recorded", g.Params)
	}

	// GET /generate/:id and the listing show the same outputs.
	again := env.Do(http.MethodGet, "/generate/"+g.ID, shop.LiveKey, nil).Generation(t)
	if again.NumOutputs != 3 || fmt.Sprint(again.Outputs) != fmt.Sprint(g.Outputs) {
		t.Fatalf("GET shows %+v, POST showed %+v", again.Outputs, g.Outputs)
	}
	// The same request draws the same set again (deterministic variants).
	same := env.Generate(shop.LiveKey, tryonBody(t, 3, map[string]any{"output_format": "jpeg", "seed": 11})).Generation(t)
	for i, b := range fetchOutputs(t, env, same) {
		if !bytes.Equal(b, bodies[i]) {
			t.Fatalf("variant %d differs between two identical requests", i)
		}
	}

	l := readLedger(t, env, shop.Client.ID)
	if l.charged != 6*40_000 || l.usageRows != 6*40_000 || l.reserved != 0 || l.processing != 0 {
		t.Fatalf("ledger %+v, want 6 outputs billed", l)
	}
	var records int
	if err := env.Store.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM usage_records WHERE generation_id = $1 AND amount_micros = $2`, g.ID, 3*40_000).Scan(&records); err != nil {
		t.Fatal(err)
	}
	if records != 1 {
		t.Fatalf("%d usage records of 3 outputs' price for the generation, want 1", records)
	}

	// A single output is still a list of one.
	one := env.Generate(shop.TestKey, map[string]any{"prompt": "a hat"}).Generation(t)
	if one.NumOutputs != 1 || len(one.Outputs) != 1 || one.Outputs[0] != *one.Output {
		t.Fatalf("one output: %+v %+v", one.NumOutputs, one.Outputs)
	}
}

// TestPartialSuccessBillsOnlyWhatCameBack has the fake make fewer outputs
// than asked: the generation succeeds with those and is billed for them
// only; none at all fails it, unbilled.
func TestPartialSuccessBillsOnlyWhatCameBack(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	balance := tryon.Micros(10 * 40_000)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance})
	r := env.Generate(shop.LiveKey, map[string]any{"prompt": "a coat [fake:outputs=2]", "num_outputs": 4})
	g := r.Generation(t)
	if r.Status != 200 || g.Status != tryon.StatusSucceeded || g.NumOutputs != 4 || len(g.Outputs) != 2 || g.CostMicros != 2*40_000 {
		t.Fatalf("partial: %d %s", r.Status, r.Body)
	}
	fetchOutputs(t, env, g)
	none := env.Generate(shop.LiveKey, map[string]any{"prompt": "a coat [fake:outputs=0]", "num_outputs": 3})
	ng := none.Generation(t)
	if ng.Status != tryon.StatusFailed || ng.CostMicros != 0 || len(ng.Outputs) != 0 || ng.Output != nil {
		t.Fatalf("no outputs: %d %s", none.Status, none.Body)
	}
	l := readLedger(t, env, shop.Client.ID)
	if *l.balance != 8*40_000 || l.charged != 2*40_000 || l.usageRows != 2*40_000 || l.reserved != 0 {
		t.Fatalf("ledger %+v, want 2 outputs billed", l)
	}
}

// TestPrepaidBalanceReservesEveryOutput checks that admission reserves the
// price of every output asked for: a balance that covers one output but
// not three refuses three with 402 and records nothing; under concurrency
// the balance covers exactly the outputs it can, partial successes
// returning what they did not use.
func TestPrepaidBalanceReservesEveryOutput(t *testing.T) {
	const price = 40_000
	env := apptest.New(t, apptest.Options{})
	small := tryon.Micros(2 * price)
	poor := env.Tenant(apptest.TenantOptions{BalanceMicros: &small})
	r := env.Generate(poor.LiveKey, map[string]any{"prompt": "three hats", "num_outputs": 3})
	if r.Status != 402 || r.Code != tryon.CodeInsufficientCredits || r.Data != nil || !strings.Contains(r.Error, "3 outputs") {
		t.Fatalf("3 outputs on a balance of 2: %d %s", r.Status, r.Body)
	}
	if n := countGenerations(t, env, poor.Client.ID); n != 0 {
		t.Fatalf("a refused request recorded %d generations", n)
	}
	if r := env.Generate(poor.LiveKey, map[string]any{"prompt": "one hat"}); r.Status != 200 {
		t.Fatalf("1 output on a balance of 2: %d %s", r.Status, r.Body)
	}

	// 10 outputs' worth of credit, 12 requests of 3 at once: exactly 3 are
	// admitted (9 outputs reserved; the tenth cannot cover another 3).
	balance := tryon.Micros(10 * price)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance, MaxConcurrent: 100, RequestsPerMinute: 1000})
	rs := fire(12, func(i int) *apptest.Response {
		return env.Generate(shop.LiveKey, map[string]any{"prompt": fmt.Sprintf("hat %d [fake:sleep=20ms]", i), "num_outputs": 3})
	})
	if got := statuses(rs); got[200] != 3 || got[402] != 9 || len(got) != 2 {
		t.Fatalf("statuses %v, want 3 × 200 and 9 × 402", got)
	}
	l := readLedger(t, env, shop.Client.ID)
	if *l.balance != price || l.charged != 9*price || l.usageRows != 9*price || l.reserved != 0 {
		t.Fatalf("ledger %+v", l)
	}

	// Partial successes under concurrency: each releases what it did not
	// use, so the balance ends exactly at what came back.
	rich := tryon.Micros(40 * price)
	shop2 := env.Tenant(apptest.TenantOptions{BalanceMicros: &rich, MaxConcurrent: 100, RequestsPerMinute: 1000})
	rs = fire(10, func(i int) *apptest.Response {
		return env.Generate(shop2.LiveKey, map[string]any{"prompt": fmt.Sprintf("hat %d [fake:sleep=10ms] [fake:outputs=%d]", i, i%4), "num_outputs": 4})
	})
	var made int64
	for i, r := range rs {
		g := r.Generation(t)
		if len(g.Outputs) != i%4 || g.CostMicros != tryon.Micros(i%4*price) {
			t.Fatalf("request %d: %d outputs billed %d", i, len(g.Outputs), g.CostMicros)
		}
		made += int64(i % 4)
	}
	l = readLedger(t, env, shop2.Client.ID)
	if *l.balance != int64(rich)-made*price || l.charged != made*price || l.usageRows != made*price || l.reserved != 0 {
		t.Fatalf("ledger %+v after %d outputs", l, made)
	}
}

// TestNumOutputsIsValidated: 1 to 4 for images, only 1 for video.
func TestNumOutputsIsValidated(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	for _, c := range []map[string]any{
		{"prompt": "a film", "service": "veo3", "num_outputs": 2},
		{"prompt": "hats", "num_outputs": 5},
		{"prompt": "hats", "num_outputs": 0},
	} {
		r := env.Generate(shop.TestKey, c)
		if r.Status != 400 || r.Code != tryon.CodeInvalidRequest || len(r.Details) != 1 || r.Details[0].Field != "num_outputs" {
			t.Fatalf("%v: %d %s", c, r.Status, r.Body)
		}
	}
	if n := countGenerations(t, env, shop.Client.ID); n != 0 {
		t.Fatalf("refused requests recorded %d generations", n)
	}
	if r := env.Generate(shop.TestKey, map[string]any{"prompt": "a film", "service": "veo3", "num_outputs": 1}); r.Status != 200 && r.Status != 202 {
		t.Fatalf("video with 1 output: %d %s", r.Status, r.Body)
	}
}

// TestFalIsAskedForTheCount checks that fal's Nano Banana receives
// num_images and every image it returns is kept; one that returns fewer is
// a partial success.
func TestFalIsAskedForTheCount(t *testing.T) {
	fake := falfake.New()
	t.Cleanup(fake.Close)
	env := apptest.New(t, apptest.Options{Settings: map[string]string{
		"PROVIDER_BANANA": "fal", "FAL_KEY": falfake.DefaultKey, "FAL_BASE_URL": fake.URL()}})
	shop := env.Tenant(apptest.TenantOptions{})
	r := env.Generate(shop.LiveKey, tryonBody(t, 3, nil))
	g := r.Generation(t)
	if r.Status != 200 || len(g.Outputs) != 3 || g.CostMicros != 3*40_000 {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	var sent struct {
		NumImages int `json:"num_images"`
	}
	if err := json.Unmarshal(fake.LastRequest().Body, &sent); err != nil || sent.NumImages != 3 {
		t.Fatalf("fal got num_images %d (%v)", sent.NumImages, err)
	}
	if fake.FileRequests() != 3 {
		t.Fatalf("%d outputs downloaded, want 3", fake.FileRequests())
	}
	fetchOutputs(t, env, g)

	partial := env.Generate(shop.LiveKey, tryonBody(t, 3, map[string]any{"prompt": "keep the sleeves " + string(falfake.Partial)}))
	pg := partial.Generation(t)
	if partial.Status != 200 || len(pg.Outputs) != 1 || pg.CostMicros != 40_000 {
		t.Fatalf("partial: %d %s", partial.Status, partial.Body)
	}
	if l := readLedger(t, env, shop.Client.ID); l.charged != 4*40_000 || l.usageRows != 4*40_000 || l.reserved != 0 {
		t.Fatalf("ledger %+v", l)
	}
}

// TestFashnIsAskedForTheCount checks that FASHN through fal receives
// num_samples on the call that makes the final image of an outfit.
func TestFashnIsAskedForTheCount(t *testing.T) {
	fake := falfake.New()
	t.Cleanup(fake.Close)
	env := apptest.New(t, apptest.Options{Settings: map[string]string{
		"FAL_KEY": falfake.DefaultKey, "FAL_BASE_URL": fake.URL(), "PRICE_FASHN_MICROS": "90000"}})
	shop := env.Tenant(apptest.TenantOptions{})
	body := tryonBody(t, 2, map[string]any{"service": "fashn", "output_format": "jpeg"})
	body["garments"] = []map[string]any{{"image": pngDataURL(t, 8, 8, color.Black), "category": "top"},
		{"image": pngDataURL(t, 8, 8, color.Gray{Y: 128}), "category": "bottom"}}
	r := env.Generate(shop.LiveKey, body)
	g := r.Generation(t)
	if r.Status != 200 || len(g.Outputs) != 2 || g.CostMicros != 2*90_000 || g.Outputs[1].ContentType != "image/jpeg" {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	var samples []int
	for _, b := range fake.FashnRequests() {
		var in struct {
			NumSamples int `json:"num_samples"`
		}
		if err := json.Unmarshal(b, &in); err != nil {
			t.Fatal(err)
		}
		samples = append(samples, in.NumSamples)
	}
	if fmt.Sprint(samples) != "[1 2]" {
		t.Fatalf("FASHN calls asked for %v samples, want [1 2] (the last garment's call makes the variants)", samples)
	}
	fetchOutputs(t, env, g)

	fake.SetFashnScenario(falfake.Partial)
	partial := env.Generate(shop.LiveKey, body).Generation(t)
	if len(partial.Outputs) != 1 || partial.CostMicros != 90_000 {
		t.Fatalf("partial: %+v", partial)
	}
}

// TestVTOIsAskedForTheCount checks that Vertex's Virtual Try-On receives
// sampleCount, and that samples its safety filter drops are not billed.
func TestVTOIsAskedForTheCount(t *testing.T) {
	fake := vertexfake.New()
	t.Cleanup(fake.Close)
	env := apptest.New(t, apptest.Options{Settings: map[string]string{
		"VERTEX_CREDENTIALS_JSON": string(fake.CredentialsJSON()), "VERTEX_BASE_URL": fake.URL(), "PRICE_VTO_MICROS": "70000"}})
	shop := env.Tenant(apptest.TenantOptions{})
	body := tryonBody(t, 3, map[string]any{"service": "vto", "seed": 4})
	r := env.Generate(shop.LiveKey, body)
	g := r.Generation(t)
	if r.Status != 200 || len(g.Outputs) != 3 || g.CostMicros != 3*70_000 {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	preds := fake.Predictions()
	var sent struct {
		Parameters struct {
			SampleCount int    `json:"sampleCount"`
			Seed        *int64 `json:"seed"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(preds[len(preds)-1], &sent); err != nil || sent.Parameters.SampleCount != 3 ||
		sent.Parameters.Seed == nil || *sent.Parameters.Seed != 4 {
		t.Fatalf("Vertex got %+v (%v)", sent.Parameters, err)
	}
	if bodies := fetchOutputs(t, env, g); bytes.Equal(bodies[0], bodies[1]) {
		t.Fatal("the samples are the same image")
	}

	fake.SetScenario(vertexfake.PartlyFiltered)
	partial := env.Generate(shop.LiveKey, body).Generation(t)
	if partial.Status != tryon.StatusSucceeded || len(partial.Outputs) != 1 || partial.CostMicros != 70_000 {
		t.Fatalf("partly filtered: %+v", partial)
	}
	if l := readLedger(t, env, shop.Client.ID); l.charged != 4*70_000 || l.usageRows != 4*70_000 || l.reserved != 0 {
		t.Fatalf("ledger %+v", l)
	}
}

// TestGeminiMakesOneCallPerOutput checks that Nano Banana through the
// Gemini API, which makes one image per call, is called once per output,
// call i seeded seed+i; calls that fail leave a partial success, and all
// failing fails the generation unbilled.
func TestGeminiMakesOneCallPerOutput(t *testing.T) {
	env, fake := geminiEnv(t, nil)
	shop := env.Tenant(apptest.TenantOptions{})
	r := env.Generate(shop.LiveKey, tryonBody(t, 3, map[string]any{"seed": 7}))
	g := r.Generation(t)
	if r.Status != 200 || len(g.Outputs) != 3 || g.CostMicros != 3*40_000 {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	if n := fake.Count(geminifake.RouteGenerateContent); n != 3 {
		t.Fatalf("%d generateContent calls, want 3", n)
	}
	fetchOutputs(t, env, g)

	// The call seeded 8 (7+1) is filtered: two outputs come back.
	partial := env.Generate(shop.LiveKey, tryonBody(t, 3, map[string]any{"seed": 7,
		"prompt": "keep the collar " + geminifake.TokenSafetyForSeed(8)}))
	pg := partial.Generation(t)
	if partial.Status != 200 || len(pg.Outputs) != 2 || pg.CostMicros != 2*40_000 {
		t.Fatalf("partial: %d %s", partial.Status, partial.Body)
	}
	failed := env.Generate(shop.LiveKey, tryonBody(t, 2, map[string]any{"prompt": "keep it " + geminifake.TokenImageSafety}))
	if fg := failed.Generation(t); failed.Code != tryon.CodeContentBlocked || fg.CostMicros != 0 || len(fg.Outputs) != 0 {
		t.Fatalf("all blocked: %d %s", failed.Status, failed.Body)
	}
	if n := fake.Count(geminifake.RouteGenerateContent); n != 3+3+2 {
		t.Fatalf("%d generateContent calls, want 8", n)
	}
	if l := readLedger(t, env, shop.Client.ID); l.charged != 5*40_000 || l.usageRows != 5*40_000 || l.reserved != 0 {
		t.Fatalf("ledger %+v", l)
	}
}

// TestSeveralOutputsGoToVercelBlob stores each output in the Blob store.
func TestSeveralOutputsGoToVercelBlob(t *testing.T) {
	store := blobfake.New(t)
	env := apptest.New(t, apptest.Options{Settings: map[string]string{
		"BLOB_READ_WRITE_TOKEN": store.Token, "VERCEL_BLOB_API_URL": store.URL}})
	shop := env.Tenant(apptest.TenantOptions{})
	g := env.Generate(shop.TestKey, map[string]any{"prompt": "a hat", "num_outputs": 2}).Generation(t)
	if len(g.Outputs) != 2 || g.Outputs[0].URL == g.Outputs[1].URL {
		t.Fatalf("outputs %+v", g.Outputs)
	}
	for _, o := range g.Outputs {
		if !strings.HasPrefix(o.URL, store.URL) {
			t.Fatalf("output %s is not in the Blob store", o.URL)
		}
	}
	fetchOutputs(t, env, g)
}

// A later output that cannot be stored ends the storing: the outputs
// already stored are a partial success, billed for what they are, and
// none is left in the Blob store unreferenced.
func TestAnOutputThatCannotBeStoredIsNotBilledNorOrphaned(t *testing.T) {
	store := blobfake.New(t)
	env := apptest.New(t, apptest.Options{Settings: map[string]string{
		"BLOB_READ_WRITE_TOKEN": store.Token, "VERCEL_BLOB_API_URL": store.URL}})
	balance := tryon.Micros(1_000_000)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance})
	store.Inject(blobfake.Pass, blobfake.Forbidden)
	g := env.Generate(shop.LiveKey, map[string]any{"prompt": "a hat", "num_outputs": 3}).Generation(t)
	if g.Status != tryon.StatusSucceeded || len(g.Outputs) != 1 || g.Output == nil || g.Output.URL != g.Outputs[0].URL {
		t.Fatalf("generation %s with %d outputs, want succeeded with the one stored", g.Status, len(g.Outputs))
	}
	if g.CostMicros != 40_000 {
		t.Errorf("cost %d, want one output's price, 40000", g.CostMicros)
	}
	if stored := len(store.Requests()); stored != 2 {
		t.Errorf("%d uploads, want 2 (the second refused, no third tried)", stored)
	}
	if _, ok := store.Blob(strings.TrimPrefix(g.Outputs[0].URL, store.URL+"/")); !ok {
		t.Errorf("the stored output %s is not in the store", g.Outputs[0].URL)
	}
	if l := readLedger(t, env, shop.Client.ID); l.charged != int64(g.CostMicros) || l.usageRows != int64(g.CostMicros) || l.reserved != 0 {
		t.Fatalf("ledger %+v, want %d charged", l, g.CostMicros)
	}
}

// TestClientTokenSpendCapCountsEveryOutput: a client token's spending cap
// counts the price of every output asked for, as the reservation does.
func TestClientTokenSpendCapCountsEveryOutput(t *testing.T) {
	const origin = "https://shop.example"
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	issued := env.Do(http.MethodPost, "/tokens", shop.LiveKey, map[string]any{"user": "carol", "origins": []string{origin},
		"max_spend_micros": 100_000})
	var tok struct {
		Token string `json:"token"`
	}
	if issued.Status != http.StatusCreated || json.Unmarshal(issued.Data, &tok) != nil {
		t.Fatalf("POST /tokens: %d %s", issued.Status, issued.Body)
	}
	page := func(n int) *apptest.Response {
		return env.Do(http.MethodPost, "/generate", "", map[string]any{"prompt": "a hat", "num_outputs": n},
			"Authorization", "Bearer "+tok.Token, "Origin", origin)
	}
	// 100,000 covers two banana outputs (40,000 each), not three.
	if r := page(3); r.Status != http.StatusForbidden || r.Data != nil {
		t.Fatalf("3 outputs over the cap: %d %s", r.Status, r.Body)
	}
	r := page(2)
	if g := r.Generation(t); r.Status != 200 || len(g.Outputs) != 2 || g.CostMicros != 80_000 {
		t.Fatalf("2 outputs within the cap: %d %s", r.Status, r.Body)
	}
	if r := page(1); r.Status != http.StatusForbidden {
		t.Fatalf("1 more output over the cap: %d %s", r.Status, r.Body)
	}
}

// TestWebhookCarriesEveryOutput: the webhook's generation object is the
// one the API answers, outputs included.
func TestWebhookCarriesEveryOutput(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	rc := &receiver{}
	withWebhook(t, env, shop.Client.ID, rc)
	g := env.Generate(shop.TestKey, map[string]any{"prompt": "a hat", "num_outputs": 2}).Generation(t)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.events) != 1 {
		t.Fatalf("%d events", len(rc.events))
	}
	raw, err := json.Marshal(rc.events[0]["data"])
	if err != nil {
		t.Fatal(err)
	}
	var sent apptest.Generation
	if err := json.Unmarshal(raw, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.NumOutputs != 2 || len(sent.Outputs) != 2 || fmt.Sprint(sent.Outputs) != fmt.Sprint(g.Outputs) {
		t.Fatalf("webhook outputs %+v, API outputs %+v", sent.Outputs, g.Outputs)
	}
}
