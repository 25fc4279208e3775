package gemini

import (
	"math"
	"strings"
)

// imageRatio is an aspect ratio the image models accept, with the pixel size
// Gemini 3 models render for it at the 1K tier (docs/PROVIDERS.md §1.6). The 2K
// and 4K sizes are exact multiples, so the 1K size alone picks the tier.
type imageRatio struct {
	name string
	a, b int // the ratio a:b
	w, h int // pixels at 1K
}

// commonRatios are accepted by every Nano Banana model.
var commonRatios = []imageRatio{
	{"1:1", 1, 1, 1024, 1024},
	{"2:3", 2, 3, 848, 1264},
	{"3:2", 3, 2, 1264, 848},
	{"3:4", 3, 4, 896, 1200},
	{"4:3", 4, 3, 1200, 896},
	{"4:5", 4, 5, 928, 1152},
	{"5:4", 5, 4, 1152, 928},
	{"9:16", 9, 16, 768, 1376},
	{"16:9", 16, 9, 1376, 768},
	{"21:9", 21, 9, 1584, 672},
}

// flash31Ratios are the extreme ratios only Gemini 3.1 Flash Image accepts.
var flash31Ratios = []imageRatio{
	{"1:4", 1, 4, 512, 2048},
	{"4:1", 4, 1, 2048, 512},
	{"1:8", 1, 8, 384, 3072},
	{"8:1", 8, 1, 3072, 384},
}

// imageTiers are the imageSize values in increasing order, with the factor
// that scales a 1K size to them.
var imageTiers = []struct {
	name  string
	scale int
}{{"1K", 1}, {"2K", 2}, {"4K", 4}}

// imageModel says what a model accepts. Models are matched by prefix because
// Google keeps adding dated and -preview variants of the same family; an
// unknown family gets the conservative answer (common ratios, no imageSize),
// since sending imageSize to a model that lacks it is a 400 while leaving it
// out only means 1K.
func imageModel(model string) (ratios []imageRatio, sized bool) {
	switch {
	case strings.HasPrefix(model, "gemini-3.1-flash-image"):
		return append(append([]imageRatio(nil), commonRatios...), flash31Ratios...), true
	case strings.HasPrefix(model, "gemini-3"):
		return commonRatios, true
	}
	return commonRatios, false
}

// SnapImage maps a requested pixel size onto what model can render: the
// supported aspect ratio nearest to w:h in log space (so 2:1 and 1:2 are
// equally far from 1:1), and, for models that take an imageSize, the
// smallest tier whose long edge covers max(w, h), capped at 4K. size is ""
// for models such as gemini-2.5-flash-image that only render 1K and reject
// the field. A non-positive w or h is treated as a square.
func SnapImage(model string, w, h int) (ratio, size string) {
	if w <= 0 || h <= 0 {
		w, h = 1, 1
	}
	ratios, sized := imageModel(model)
	want := math.Log(float64(w) / float64(h))
	best, bestDist := ratios[0], math.Inf(1)
	for _, r := range ratios {
		d := math.Abs(want - math.Log(float64(r.a)/float64(r.b)))
		if d < bestDist {
			best, bestDist = r, d
		}
	}
	if !sized {
		return best.name, ""
	}
	long := max(w, h)
	size = imageTiers[len(imageTiers)-1].name
	for _, t := range imageTiers {
		if max(best.w, best.h)*t.scale >= long {
			size = t.name
			break
		}
	}
	return best.name, size
}

// VideoLandscape and VideoPortrait are the two aspect ratios Veo renders.
const (
	VideoLandscape = "16:9"
	VideoPortrait  = "9:16"
)

// SnapVideo maps a requested pixel size onto Veo's two aspect ratios and
// returns the 720p frame size of the choice. 16:9 and 9:16 are symmetric
// about 1:1 in log space, so the nearer one is simply the orientation;
// squares and unknown sizes get Veo's default, 16:9.
func SnapVideo(w, h int) (ratio string, width, height int) {
	if h > w && w > 0 {
		return VideoPortrait, 720, 1280
	}
	return VideoLandscape, 1280, 720
}

// videoFrame returns the 720p frame size of a Veo aspect ratio.
func videoFrame(ratio string) (width, height int) {
	if ratio == VideoPortrait {
		return 720, 1280
	}
	return 1280, 720
}

// SnapDuration maps a requested length onto Veo's 4, 6 or 8 seconds: the
// nearest, rounding a tie up because the tenant asked for more than the
// shorter clip. 0 means Veo's default, 8.
func SnapDuration(seconds int) int {
	switch {
	case seconds <= 0 || seconds >= 8:
		return 8
	case seconds <= 4:
		return 4
	case seconds%2 == 1:
		return seconds + 1
	}
	return seconds
}
