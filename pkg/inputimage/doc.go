// Package inputimage checks and normalises the input images of POST /generate
// once, at the door, whatever provider will use them.
//
// A small file can declare a huge picture: a few hundred bytes of PNG header
// claiming 6324×6324 16-bit RGBA would make a decoder allocate 320 MB. So an
// input is judged by its header before a single pixel is decoded: its format
// (PNG, JPEG or WebP, from the bytes), its pixel count (MaxPixels) and the
// memory its decoder will allocate (estimated from the header, at most
// DecodeBudget). Decoding then waits for that much room in a process-wide
// budget, so concurrent requests queue instead of multiplying the memory;
// the wait ends with the request's own deadline.
//
// A decoded image is normalised for the models: scaled down so that its
// longer side is at most MaxSide, turned upright by its EXIF orientation, and
// re-encoded without metadata (JPEG when opaque, PNG when it has
// transparency). Providers, and the fake provider that draws inputs into its
// pictures, receive only these small images.
package inputimage
