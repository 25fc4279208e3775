package fake

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"strings"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/tryon"
)

func videoRequest(prompt string) tryon.ProviderRequest {
	return tryon.ProviderRequest{Service: tryon.ServiceVeo3, Prompt: prompt, Width: 1280, Height: 720, DurationSeconds: 4}
}

// TestStartPollAcrossProviders starts an operation on one Provider and
// finishes it on another, as two serverless instances would: the name alone
// carries the operation, and its end time is the starter's.
func TestStartPollAcrossProviders(t *testing.T) {
	clk := newClock()
	starter := New(Options{VideoLatency: 3 * time.Second, Now: clk.Now})
	poller := New(Options{VideoLatency: time.Hour, Now: clk.Now})
	req := videoRequest("a walk on the beach")
	req.Person, req.Garment = solidImage(t, "jpeg", 90, 160, red), solidImage(t, "png", 50, 50, blue)
	op, err := starter.Start(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(op, "fake-ops/") {
		t.Errorf("operation %q", op)
	}
	for _, step := range []time.Duration{0, 2999 * time.Millisecond} {
		clk.Advance(step)
		if res, err := poller.Poll(context.Background(), op); res != nil || err != nil {
			t.Fatalf("poll %v after start: %v, %v; want still running", step, res, err)
		}
	}
	clk.Advance(time.Millisecond)
	res, err := poller.Poll(context.Background(), op)
	if err != nil || res == nil {
		t.Fatalf("poll when done: %v, %v", res, err)
	}
	if res.ContentType != "video/mp4" || res.Width != 320 || res.Height != 180 {
		t.Errorf("result %s %d×%d, want video/mp4 320×180", res.ContentType, res.Width, res.Height)
	}
	again, err := starter.Poll(context.Background(), op)
	if err != nil || !bytes.Equal(again.Bytes, res.Bytes) {
		t.Errorf("the starter polled different bytes (%v)", err)
	}
	v := parseMP4(t, res.Bytes)
	if len(v.samples) != 4*videoFPS {
		t.Errorf("%d frames, want %d", len(v.samples), 4*videoFPS)
	}
}

func TestGenerateVideo(t *testing.T) {
	res, err := New(Options{VideoLatency: -1}).Generate(context.Background(), videoRequest("a walk"))
	if err != nil {
		t.Fatal(err)
	}
	if info, ok := media.Sniff(res.Bytes); !ok || info.ContentType != media.MP4 || res.ContentType != media.MP4 {
		t.Errorf("result %s, sniffed %+v", res.ContentType, info)
	}
}

func TestVideoShape(t *testing.T) {
	p := New(Options{VideoLatency: -1})
	for _, c := range []struct {
		w, h, secs   int
		wantW, wantH int
		wantSeconds  int
	}{
		{1280, 720, 8, 320, 180, 8},
		{720, 1280, 6, 180, 320, 6},
		{1024, 1024, 4, 320, 180, 4}, // Veo's default is landscape
		{0, 0, 0, 320, 180, 8},       // the API's default duration
		{64, 65, 4, 180, 320, 4},
	} {
		t.Run(fmt.Sprintf("%dx%d_%ds", c.w, c.h, c.secs), func(t *testing.T) {
			req := videoRequest("shape")
			req.Width, req.Height, req.DurationSeconds = c.w, c.h, c.secs
			res, err := p.Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			v := parseMP4(t, res.Bytes)
			if res.Width != c.wantW || res.Height != c.wantH || v.width != c.wantW || v.height != c.wantH {
				t.Errorf("result %d×%d, file %d×%d; want %d×%d", res.Width, res.Height, v.width, v.height, c.wantW, c.wantH)
			}
			if got := v.duration / v.timescale; got != c.wantSeconds || len(v.samples) != c.wantSeconds*videoFPS {
				t.Errorf("%d s in %d frames, want %d s", got, len(v.samples), c.wantSeconds)
			}
		})
	}
}

func TestVideoFailureTokens(t *testing.T) {
	for token, kind := range map[string]tryon.FailureKind{
		"[fake:blocked]":     tryon.FailContentBlocked,
		"[fake:unavailable]": tryon.FailUnavailable,
		"[fake:error]":       tryon.FailBadResponse,
		"[fake:no_output]":   tryon.FailNoOutput,
	} {
		t.Run(string(kind), func(t *testing.T) {
			clk := newClock()
			p := New(Options{Now: clk.Now})
			// The operation starts as usual; the failure shows when it ends.
			op, err := p.Start(context.Background(), videoRequest("a walk "+token))
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			if res, err := p.Poll(context.Background(), op); res != nil || err != nil {
				t.Fatalf("poll while running: %v, %v", res, err)
			}
			clk.Advance(DefaultVideoLatency)
			_, err = p.Poll(context.Background(), op)
			pe := providerError(t, err, kind)
			if kind == tryon.FailNoOutput && pe.Message != "the fake provider returned no video" {
				t.Errorf("message %q", pe.Message)
			}
			if !strings.Contains(pe.Detail, token) {
				t.Errorf("detail %q does not name %s", pe.Detail, token)
			}
			_, err = New(Options{VideoLatency: -1}).Generate(context.Background(), videoRequest("a walk "+token))
			providerError(t, err, kind)
		})
	}
}

func TestVideoSleepToken(t *testing.T) {
	clk := newClock()
	p := New(Options{VideoLatency: time.Second, Now: clk.Now})
	op, err := p.Start(context.Background(), videoRequest("slow [fake:sleep=5s]"))
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(6*time.Second - time.Millisecond)
	if res, err := p.Poll(context.Background(), op); res != nil || err != nil {
		t.Fatalf("poll before latency + sleep: %v, %v", res, err)
	}
	clk.Advance(time.Millisecond)
	if res, err := p.Poll(context.Background(), op); res == nil || err != nil {
		t.Fatalf("poll after latency + sleep: %v, %v", res, err)
	}
}

func TestOperationNameSize(t *testing.T) {
	req := videoRequest(strings.Repeat("a very long prompt é ", 200)[:4000])
	req.Person = solidImage(t, "jpeg", 600, 800, red)
	req.Garment = webpImage(16383, 16383)
	op, err := New(Options{}).Start(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(op) >= 2048 {
		t.Errorf("operation name is %d bytes, want under 2 KB", len(op))
	}
	parsed, err := parseOperation(op)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Label != "A VERY LONG PROMPT ?" || parsed.Person.W != 12 || parsed.Person.H != 16 || parsed.Garment.W != 16 {
		t.Errorf("operation %+v", parsed)
	}
}

func TestPollRejectsBadNames(t *testing.T) {
	good, err := New(Options{}).start(context.Background(), videoRequest("x"))
	if err != nil {
		t.Fatal(err)
	}
	encode := func(change func(m map[string]any)) string {
		b, _ := json.Marshal(good)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		change(m)
		b, _ = json.Marshal(m)
		return operationPrefix + base64.RawURLEncoding.EncodeToString(b)
	}
	p := New(Options{})
	for name, op := range map[string]string{
		"Empty":          "",
		"OtherProvider":  "models/veo-3.0-generate-001/operations/abc",
		"NotBase64":      "fake-ops/!!!",
		"NotJSON":        "fake-ops/" + base64.RawURLEncoding.EncodeToString([]byte("hello")),
		"TooLong":        "fake-ops/" + strings.Repeat("A", maxOperationLen),
		"Version":        encode(func(m map[string]any) { m["v"] = 2 }),
		"Size":           encode(func(m map[string]any) { m["w"] = 4000 }),
		"Duration":       encode(func(m map[string]any) { m["secs"] = 60 }),
		"Seed":           encode(func(m map[string]any) { m["seed"] = "AAAA" }),
		"Fail":           encode(func(m map[string]any) { m["fail"] = "auth" }),
		"UnknownField":   encode(func(m map[string]any) { m["extra"] = 1 }),
		"Thumbnail":      encode(func(m map[string]any) { m["person"] = map[string]any{"w": 2, "h": 2, "pix": "AAA="} }),
		"LargeThumbnail": encode(func(m map[string]any) { m["person"] = map[string]any{"w": 400, "h": 1, "pix": ""} }),
		"Label":          encode(func(m map[string]any) { m["label"] = strings.Repeat("X", 100) }),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := p.Poll(context.Background(), op)
			providerError(t, err, tryon.FailInvalidRequest)
		})
	}
	if _, err := p.Poll(context.Background(), encode(func(map[string]any) {})); err != nil {
		t.Errorf("the unchanged operation: %v", err)
	}
}

// TestVideoPixels decodes the whole video with the test decoder and wants
// every frame to be exactly the frame drawn, and the first frame to show
// the inputs where the layout puts them.
func TestVideoPixels(t *testing.T) {
	req := videoRequest("pixels")
	req.Person = solidImage(t, "png", 90, 160, red)
	req.Garment = solidImage(t, "png", 50, 50, blue)
	op, err := New(Options{}).start(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	v := parseMP4(t, renderVideo(op))

	d := &h264Decoder{}
	for _, ps := range [][]byte{v.sps, v.pps} {
		if _, err := d.decodeNAL(ps); err != nil {
			t.Fatalf("parameter set: %v", err)
		}
	}
	var decoded []*yuvFrame
	for i, s := range v.samples {
		for _, unit := range nalUnits(t, s) {
			pic, err := d.decodeNAL(unit)
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			decoded = append(decoded, pic)
		}
	}
	if len(decoded) != len(v.samples) {
		t.Fatalf("%d pictures in %d samples", len(decoded), len(v.samples))
	}
	enc := newH264Encoder(op.Width, op.Height, videoFPS)
	changed := 0
	drawFrames(op, enc, func(i int, f *yuvFrame) {
		if !bytes.Equal(decoded[i].y, f.y) || !bytes.Equal(decoded[i].cb, f.cb) || !bytes.Equal(decoded[i].cr, f.cr) {
			t.Errorf("frame %d decodes to other samples than were drawn", i)
		}
		if i > 0 && !bytes.Equal(decoded[i].y, decoded[i-1].y) {
			changed++
		}
	})
	if changed < len(decoded)-1 {
		t.Errorf("only %d of %d frames differ from the one before: the video does not move", changed, len(decoded)-1)
	}

	// Limited-range BT.601 of pure red and pure blue, from the standard's
	// formulas rather than the encoder's table.
	yuvOf := func(r, g, b float64) [3]int {
		return [3]int{
			int(16 + (65.481*r+128.553*g+24.966*b)/255 + 0.5),
			int(128 + (-37.797*r-74.203*g+112*b)/255 + 0.5),
			int(128 + (112*r-93.786*g-18.214*b)/255 + 0.5),
		}
	}
	at := func(f *yuvFrame, x, y int) [3]int {
		stride := enc.mbW * 16
		return [3]int{int(f.y[y*stride+x]), int(f.cb[y/2*stride/2+x/2]), int(f.cr[y/2*stride/2+x/2])}
	}
	near := func(a, b [3]int) bool {
		for i := range a {
			if d := a[i] - b[i]; d < -1 || d > 1 {
				return false
			}
		}
		return true
	}
	l := layoutFor(op.Width, op.Height)
	person := fit(l.main, 90, 160)
	garment := fit(l.inset, 50, 50)
	if got, want := at(decoded[0], person.Min.X+person.Dx()/2, person.Min.Y+person.Dy()/4), yuvOf(255, 0, 0); !near(got, want) {
		t.Errorf("person pixel YCbCr %v, want red %v", got, want)
	}
	if got, want := at(decoded[0], garment.Min.X+garment.Dx()/2, garment.Min.Y+garment.Dy()/2), yuvOf(0, 0, 255); !near(got, want) {
		t.Errorf("garment pixel YCbCr %v, want blue %v", got, want)
	}
	// The square moves: it is in its place in each frame, and gone from
	// there a frame later.
	lk := lookFor(op.seed())
	square := yuvTable(lk.palette())[idxAccent2]
	for i := range keyInterval {
		r := squareAt(layoutFor(op.Width, op.Height), i)
		c := r.Min.Add(image.Pt(r.Dx()/2, r.Dy()/2))
		if got := at(decoded[i], c.X, c.Y); got != [3]int{int(square.y), int(square.cb), int(square.cr)} {
			t.Errorf("frame %d: %v at the square's centre %v, want its colour", i, got, c)
		}
		if later := at(decoded[i+1], c.X, c.Y); later == [3]int{int(square.y), int(square.cb), int(square.cr)} {
			t.Errorf("frame %d: the square is still at %v", i+1, c)
		}
	}
}

func FuzzParseOperation(f *testing.F) {
	op, err := New(Options{}).Start(context.Background(), videoRequest("fuzz"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(op)
	f.Add("fake-ops/e30")
	f.Fuzz(func(t *testing.T, name string) {
		op, err := parseOperation(name)
		if err != nil {
			return
		}
		// A name that parses describes a video that can be made, and the
		// same operation again.
		again, err := parseOperation(op.name())
		if err != nil {
			t.Fatalf("re-encoded operation does not parse: %v", err)
		}
		if fmt.Sprint(again) != fmt.Sprint(op) {
			t.Fatalf("round trip changed %+v to %+v", op, again)
		}
		if op.Seconds == 4 {
			renderVideo(op)
		}
	})
}
