package inputimage

// The limits on input images, documented in the README (POST /generate) and
// in public/openapi.json.
const (
	// MaxPixels caps width×height as the header declares it: 25 megapixels
	// takes a 24-megapixel camera photo (6000×4000) and refuses the
	// decompression bombs (a 6324×6324 PNG header is 40 megapixels).
	MaxPixels = 25_000_000

	// MaxSide is the longer side of a normalised input. The image models
	// render at most 4K and read inputs at far lower resolution (Gemini tiles
	// an image into 768-pixel squares and bills tokens per tile), so pixels
	// beyond 2048 add upload time, tokens and memory but no detail a model
	// uses; 2048 still keeps a garment's texture for a 2K output.
	MaxSide = 2048

	// DecodeBudget is how many bytes the decoders of one process may hold at
	// once, and so also the most one image may need: its decoded pixels
	// (estimated from the header: a 16-bit PNG takes 8 bytes a pixel, an
	// 8-bit one 4, a baseline 4:2:0 JPEG 1.5, a progressive one 7.5) plus
	// its normalised copy. Every baseline JPEG under MaxPixels fits, and an
	// 8-bit PNG of about 12 megapixels. Queueing on it, rather than
	// decoding as many images as requests arrive, is what keeps a process's
	// memory flat under hostile load (`tryon bench hostile`).
	DecodeBudget = 64 << 20

	// jpegQuality is the quality of re-encoded opaque inputs: high enough
	// that a model sees no block artefacts, at a fifth of a PNG's size.
	jpegQuality = 90
)
