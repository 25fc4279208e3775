package fake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// A video operation name is operationPrefix followed by the operation as
// base64url JSON. The name is the whole state: the instance that polls may
// not be the one that started, and the fake keeps nothing anywhere else.
const (
	operationPrefix  = "fake-ops/"
	operationVersion = 1
	// maxOperationLen refuses oversized names before decoding them; real
	// names stay under 2 KB because the thumbnails are tiny.
	maxOperationLen = 4096
	// thumbSide is the longer side of the input thumbnails a video shows:
	// the input images cannot travel in the name, so the video shows them as
	// a mosaic of 16 tiles across.
	thumbSide = 16
)

// operation is a started video, everything needed to finish it.
type operation struct {
	Version int    `json:"v"`
	Seed    []byte `json:"seed"`  // SHA-256 of the prompt without its tokens: the colours
	Label   string `json:"label"` // the banner text
	Width   int    `json:"w"`
	Height  int    `json:"h"`
	Seconds int    `json:"secs"`
	Started int64  `json:"started"` // Unix milliseconds
	// Ready is when the video is done, in Unix milliseconds. It is fixed at
	// Start, so the poller's own options cannot move it.
	Ready   int64             `json:"ready"`
	Fail    tryon.FailureKind `json:"fail,omitempty"` // what the prompt asked to fail with
	Person  *opThumbnail      `json:"person,omitempty"`
	Garment *opThumbnail      `json:"garment,omitempty"`
}

// opThumbnail is a thumbnail in palette indices (the colour cube, the
// placeholder's greys, or idxClear).
type opThumbnail struct {
	W   int    `json:"w"`
	H   int    `json:"h"`
	Pix []byte `json:"pix"`
}

func newOpThumbnail(p picture) *opThumbnail {
	if p == nil {
		return nil
	}
	t := makeThumbnail(p, thumbSide)
	return &opThumbnail{W: t.w, H: t.h, Pix: t.pix}
}

func (t *opThumbnail) grid() grid { return grid{t.W, t.H, t.Pix} }

func (op *operation) seed() (s [sha256.Size]byte) {
	copy(s[:], op.Seed)
	return s
}

// name encodes the operation.
func (op *operation) name() string {
	b, err := json.Marshal(op)
	if err != nil {
		panic("fake: marshal operation: " + err.Error()) // plain data cannot fail to marshal
	}
	return operationPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// parseOperation decodes and checks an operation name. Names come back from
// the database, so a damaged one must give an error, never a panic or a
// picture of the wrong size.
func parseOperation(name string) (*operation, error) {
	if len(name) > maxOperationLen {
		return nil, errors.New("operation name too long")
	}
	enc, ok := strings.CutPrefix(name, operationPrefix)
	if !ok {
		return nil, fmt.Errorf("operation name %.40q is not the fake provider's", name)
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("operation name: %w", err)
	}
	var op operation
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&op); err != nil {
		return nil, fmt.Errorf("operation name: %w", err)
	}
	if dec.More() {
		return nil, errors.New("operation name: trailing data")
	}
	if err := op.check(); err != nil {
		return nil, fmt.Errorf("operation name: %w", err)
	}
	return &op, nil
}

func (op *operation) check() error {
	landscape := op.Width == videoLong && op.Height == videoShort
	portrait := op.Width == videoShort && op.Height == videoLong
	switch {
	case op.Version != operationVersion:
		return fmt.Errorf("version %d, want %d", op.Version, operationVersion)
	case len(op.Seed) != sha256.Size:
		return errors.New("bad seed")
	case len(op.Label) > labelLen:
		return errors.New("label too long")
	case !landscape && !portrait:
		return fmt.Errorf("bad size %d×%d", op.Width, op.Height)
	}
	if !validDuration(op.Seconds) {
		return fmt.Errorf("bad duration %d s", op.Seconds)
	}
	if _, ok := failureToken(op.Fail); op.Fail != "" && !ok {
		return fmt.Errorf("bad failure %q", op.Fail)
	}
	for _, t := range []*opThumbnail{op.Person, op.Garment} {
		if t != nil && (t.W < 1 || t.W > thumbSide || t.H < 1 || t.H > thumbSide || len(t.Pix) != t.W*t.H) {
			return errors.New("bad thumbnail")
		}
	}
	return nil
}

// validDuration reports whether Veo makes videos of s seconds.
func validDuration(s int) bool { return s == 4 || s == 6 || s == 8 }

// failureToken is the prompt token that asks for a failure kind.
func failureToken(kind tryon.FailureKind) (string, bool) {
	for body, k := range scenarioFailures {
		if k == kind {
			return "[fake:" + body + "]", true
		}
	}
	return "", false
}

// Start begins a video operation (the veo3 service only) and returns its
// name. Failure tokens in the prompt take effect when the operation
// finishes, and a sleep token lengthens it.
func (p *Provider) Start(ctx context.Context, req tryon.ProviderRequest) (string, error) {
	op, err := p.start(ctx, req)
	if err != nil {
		return "", err
	}
	return op.name(), nil
}

func (p *Provider) start(ctx context.Context, req tryon.ProviderRequest) (*operation, error) {
	if !req.Service.IsVideo() {
		return nil, p.invalid("the fake provider runs operations only for video, not %q", req.Service)
	}
	if err := ctx.Err(); err != nil {
		return nil, p.timeout(err)
	}
	if err := p.forced("video"); err != nil {
		return nil, err
	}
	secs := req.DurationSeconds
	if secs == 0 {
		secs = defaultDuration
	}
	if !validDuration(secs) {
		return nil, p.invalid("the fake provider makes videos of 4, 6 or 8 seconds, not %d", secs)
	}
	pics, release, err := p.loadPictures(ctx, req.Person, req.Garment)
	if err != nil {
		return nil, err
	}
	defer release()
	person, garment := pics[0], pics[1]
	sc := parseScenario(req.Prompt)
	seed := sha256.Sum256([]byte(sc.prompt))
	w, h := videoSize(req.Width, req.Height)
	now := p.opts.Now()
	return &operation{
		Version: operationVersion,
		Seed:    seed[:],
		Label:   labelFor(sc.prompt),
		Width:   w,
		Height:  h,
		Seconds: secs,
		Started: now.UnixMilli(),
		Ready:   now.Add(p.opts.VideoLatency + sc.sleep).UnixMilli(),
		Fail:    sc.fail,
		Person:  newOpThumbnail(person),
		Garment: newOpThumbnail(garment),
	}, nil
}

// Poll reports whether an operation is done: (nil, nil) while it runs, then
// the MP4, or the failure its prompt asked for.
func (p *Provider) Poll(ctx context.Context, name string) (*tryon.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, p.timeout(err)
	}
	if err := p.forced("video"); err != nil {
		return nil, err
	}
	op, err := parseOperation(name)
	if err != nil {
		return nil, p.invalid("%v", err)
	}
	if p.Canceled(name) {
		return nil, p.canceledFailure()
	}
	if p.opts.Now().UnixMilli() < op.Ready {
		return nil, nil
	}
	return p.finish(op)
}

// generateVideo runs an operation to the end within one call.
func (p *Provider) generateVideo(ctx context.Context, req tryon.ProviderRequest) (*tryon.Result, error) {
	op, err := p.start(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := p.wait(ctx, time.UnixMilli(op.Ready).Sub(p.opts.Now())); err != nil {
		return nil, err
	}
	return p.finish(op)
}

func (p *Provider) finish(op *operation) (*tryon.Result, error) {
	if op.Fail != "" {
		token, _ := failureToken(op.Fail)
		return nil, p.failure(op.Fail, "video", "the prompt asked for "+token)
	}
	return &tryon.Result{Bytes: renderVideo(op), ContentType: media.MP4, Width: op.Width, Height: op.Height}, nil
}
