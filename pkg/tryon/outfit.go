package tryon

// Task is what a POST /generate asks for: a picture from a prompt (with an
// optional person and garment photo, the original request shape) or a
// try-on of an outfit, whose instructions Tryon writes itself.
type Task string

// The tasks of POST /generate.
const (
	TaskGenerate Task = "generate"
	TaskTryon    Task = "tryon"
)

// Category is where a garment goes on the body, which decides what it
// replaces: a top the upper-body clothing, a bottom the lower, a one-piece
// both; outerwear is layered over what the person wears.
type Category string

// The garment categories, in the order an outfit is put on.
const (
	CategoryOnePiece  Category = "one-piece"
	CategoryBottom    Category = "bottom"
	CategoryTop       Category = "top"
	CategoryOuterwear Category = "outerwear"
)

// Categories lists every category in dressing order: what is put on first
// comes first, so that outerwear ends up over the top.
var Categories = []Category{CategoryOnePiece, CategoryBottom, CategoryTop, CategoryOuterwear}

// Valid reports whether c is a known category.
func (c Category) Valid() bool {
	for _, v := range Categories {
		if c == v {
			return true
		}
	}
	return false
}

// Layer is c's place in dressing order (0 first).
func (c Category) Layer() int {
	for i, v := range Categories {
		if c == v {
			return i
		}
	}
	return len(Categories)
}

// PhotoType is how a garment was photographed: laid flat (or on a hanger),
// worn by a model, or unknown ("auto"). A model shot carries someone else's
// body that must not leak into the output; a flat lay carries no shape.
type PhotoType string

// The garment photo types.
const (
	PhotoAuto    PhotoType = "auto"
	PhotoFlatLay PhotoType = "flat-lay"
	PhotoModel   PhotoType = "model"
)

// Valid reports whether t is a known photo type.
func (t PhotoType) Valid() bool { return t == PhotoAuto || t == PhotoFlatLay || t == PhotoModel }

// Garment is one garment of a try-on, with its photo.
type Garment struct {
	Image     *Image
	Category  Category
	PhotoType PhotoType
}

// OutputFormat is the image format a tenant asks for.
type OutputFormat string

// The output formats. PNG and JPEG are made by Tryon from whatever the
// provider returns; WebP only by providers that return it themselves.
const (
	FormatPNG  OutputFormat = "png"
	FormatJPEG OutputFormat = "jpeg"
	FormatWebP OutputFormat = "webp"
)

// Valid reports whether f is a known output format.
func (f OutputFormat) Valid() bool { return f == FormatPNG || f == FormatJPEG || f == FormatWebP }

// GarmentParams is a garment as recorded on its generation: what it was,
// never its photo.
type GarmentParams struct {
	Category  Category  `json:"category"`
	PhotoType PhotoType `json:"photo_type"`
}

// Params are the try-on and output parameters a generation was asked for,
// recorded beside it so that a result can be reproduced (the seed) and
// explained (which garments, which format). Nil on generations that asked
// for none of them.
type Params struct {
	Task          Task            `json:"task"`
	Garments      []GarmentParams `json:"garments,omitempty"`
	Seed          *int64          `json:"seed,omitempty"`
	OutputFormat  OutputFormat    `json:"output_format,omitempty"`
	OutputQuality int             `json:"output_quality,omitempty"`
}
