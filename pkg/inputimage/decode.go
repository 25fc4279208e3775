package inputimage

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"runtime"
	"time"

	"golang.org/x/image/webp"
	"golang.org/x/sync/semaphore"

	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// decoders is the memory all decodes of this process may hold at once; a
// decode takes its estimated cost and gives it back when the caller is done
// with the pixels. It is FIFO, so a large image is not starved by small ones.
var decoders = semaphore.NewWeighted(DecodeBudget)

// Decoded is a decoded input image, holding its share of the process's
// decode budget until Release.
type Decoded struct {
	Image  image.Image
	Format string // media.PNG, media.JPEG or media.WebP
	// Orientation is the EXIF orientation (1 to 8) of a JPEG, 1 otherwise.
	Orientation int

	budget  *semaphore.Weighted
	weight  int64
	release bool
}

// DropImage lets go of the decoded image, whose memory the garbage
// collector may now take back, and gives back all of the reservation but
// keep bytes, which the caller still uses (its scaled copy).
func (d *Decoded) DropImage(keep int64) {
	d.Image = nil
	if give := d.weight - keep; give > 0 && !d.release {
		giveBack(d.budget, give)
		d.weight = keep
	}
}

// collectFrom is the share of the budget from which giving it back first
// runs the garbage collector.
const collectFrom = 16 << 20

// giveBack returns n bytes to the budget. The pixels they paid for are
// garbage, not yet free: were the next decode to allocate before a
// collection, the heap would hold both, and a stream of large images
// would keep twice the budget in memory. So a large share is given back
// only once the collector has taken the pixels back (a collection costs
// milliseconds, as pixels hold no pointers; a decode this large, about a
// second).
func giveBack(budget *semaphore.Weighted, n int64) {
	if n >= collectFrom {
		runtime.GC()
	}
	budget.Release(n)
}

// Release gives the decode's memory back to the budget. The image must not
// be used afterwards; calling Release again does nothing.
func (d *Decoded) Release() {
	if d == nil || d.release {
		return
	}
	d.release = true
	d.Image = nil
	giveBack(d.budget, d.weight)
}

// Decode decodes an input image within the process's decode budget. extra,
// given the size and the estimated decode cost, is memory the caller will
// allocate while it holds the image (a scaled copy), reserved with it. The
// header is checked before any pixel is decoded: a format other than PNG,
// JPEG or WebP, more than MaxPixels, or an estimated cost above
// DecodeBudget is refused with an invalid_request *tryon.Error naming no
// field, as is a file that then fails to decode (truncated, corrupt).
// Waiting for room ends with ctx, as an unavailable error. The caller must
// Release the result.
func Decode(ctx context.Context, b []byte, extra func(width, height int, cost int64) int64) (*Decoded, error) {
	if b == nil {
		b = []byte{} // nil means "no image" to decodeAll; here it is an empty file
	}
	ds, _, err := decodeAll(ctx, decoders, DecodeBudget, [][]byte{b}, extra)
	if err != nil {
		return nil, err
	}
	return ds[0], nil
}

// DecodeAll decodes several images, as Decode does, under one reservation
// for all of them: a caller that needs two images at once must not hold one
// share of the budget while it waits for another, or callers holding firsts
// would wait forever for seconds. A nil entry gives a nil result. On error,
// nothing stays reserved and failed is the index of the image at fault.
func DecodeAll(ctx context.Context, images ...[]byte) (ds []*Decoded, failed int, err error) {
	return decodeAll(ctx, decoders, DecodeBudget, images, nil)
}

// header is what an image's header says, checked, before decoding.
type header struct {
	format string
	cfg    image.Config
	cost   int64
}

// inspect reads and checks an image's header; it allocates nothing in
// proportion to the pixels.
func inspect(b []byte, capacity int64, extra func(w, h int, cost int64) int64) (header, error) {
	info, ok := media.Sniff(b)
	if !ok || !info.IsImage() {
		return header{}, refuse("is not a PNG, JPEG or WebP image", fmt.Errorf("%d bytes that are not an image", len(b)))
	}
	name := formatName(info.ContentType)
	decodeConfig, _ := codec(info.ContentType)
	cfg, err := decodeConfig(bytes.NewReader(b))
	if err != nil {
		return header{}, refuse("is not a valid "+name+" image", fmt.Errorf("header: %w", err))
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return header{}, refuse("is not a valid "+name+" image", fmt.Errorf("header declares %dx%d", cfg.Width, cfg.Height))
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > MaxPixels {
		return header{}, refuse(fmt.Sprintf("is larger than %d megapixels", MaxPixels/1_000_000),
			fmt.Errorf("header declares %dx%d", cfg.Width, cfg.Height))
	}
	cost, err := decodeCost(b, info.ContentType, cfg)
	if err != nil {
		return header{}, refuse("is not a valid "+name+" image", err)
	}
	if extra != nil {
		cost += extra(cfg.Width, cfg.Height, cost)
	}
	if cost > capacity {
		return header{}, refuse(fmt.Sprintf("is too large to decode: a %d×%d %s needs %d MB, more than the %d MB allowed; send it smaller",
			cfg.Width, cfg.Height, name, mb(cost), mb(capacity)),
			fmt.Errorf("estimated decode cost %d bytes", cost))
	}
	return header{format: info.ContentType, cfg: cfg, cost: cost}, nil
}

func decodeAll(ctx context.Context, budget *semaphore.Weighted, capacity int64, images [][]byte, extra func(w, h int, cost int64) int64) ([]*Decoded, int, error) {
	headers := make([]header, len(images))
	var total int64
	for i, b := range images {
		if b == nil {
			continue
		}
		h, err := inspect(b, capacity, extra)
		if err != nil {
			return nil, i, err
		}
		headers[i], total = h, total+h.cost
	}
	if total > capacity {
		return nil, 0, refuse(fmt.Sprintf("are too large to decode together: they need %d MB, more than the %d MB allowed; send them smaller",
			mb(total), mb(capacity)), fmt.Errorf("estimated decode cost %d bytes", total))
	}
	if err := budget.Acquire(ctx, total); err != nil {
		return nil, 0, &tryon.Error{Code: tryon.CodeUnavailable, RetryAfter: retryAfter,
			Message: "the server is busy decoding other images; try again shortly",
			Cause:   fmt.Errorf("wait for %d bytes of decode budget: %w", total, err)}
	}
	ds := make([]*Decoded, len(images))
	for i, b := range images {
		if b == nil {
			continue
		}
		h := headers[i]
		_, decodeImage := codec(h.format)
		img, err := decodeImage(bytes.NewReader(b))
		if err == nil && (img.Bounds().Dx() != h.cfg.Width || img.Bounds().Dy() != h.cfg.Height) {
			err = fmt.Errorf("decoded %v, header said %dx%d", img.Bounds(), h.cfg.Width, h.cfg.Height)
		}
		if err != nil {
			for _, d := range ds {
				d.Release()
			}
			// What the failed decode allocated is garbage now.
			giveBack(budget, total)
			return nil, i, refuse("is not a valid "+formatName(h.format)+" image (it is truncated or corrupt)", err)
		}
		d := &Decoded{Image: img, Format: h.format, Orientation: 1, budget: budget, weight: h.cost}
		if h.format == media.JPEG {
			d.Orientation = exifOrientation(b)
		}
		ds[i], total = d, total-h.cost
	}
	return ds, 0, nil
}

// codec returns the header and image decoders of a format Sniff found.
func codec(format string) (func(io.Reader) (image.Config, error), func(io.Reader) (image.Image, error)) {
	switch format {
	case media.PNG:
		return png.DecodeConfig, png.Decode
	case media.JPEG:
		return jpeg.DecodeConfig, jpeg.Decode
	}
	return webp.DecodeConfig, webp.Decode
}

func formatName(format string) string {
	switch format {
	case media.PNG:
		return "PNG"
	case media.JPEG:
		return "JPEG"
	}
	return "WebP"
}

// retryAfter is the hint given when the decode budget stayed full for the
// whole of a request's time: a busy instance frees it within seconds.
const retryAfter = 2 * time.Second

func mb(n int64) int64 { return (n + 1<<20 - 1) >> 20 }

// refuse is the invalid_request error for an input the tenant must fix; the
// caller prefixes the field name, the cause reaches only the logs.
func refuse(msg string, cause error) *tryon.Error {
	return &tryon.Error{Code: tryon.CodeInvalidRequest, Message: msg, Cause: cause}
}
