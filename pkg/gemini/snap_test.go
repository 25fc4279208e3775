package gemini

import "testing"

func TestSnapImage(t *testing.T) {
	const (
		flash   = "gemini-2.5-flash-image"
		pro     = "gemini-3-pro-image-preview"
		flash31 = "gemini-3.1-flash-image-preview"
	)
	tests := []struct {
		name      string
		model     string
		w, h      int
		wantRatio string
		wantSize  string
	}{
		{"SquareOnFlashHasNoSize", flash, 1024, 1024, "1:1", ""},
		{"LandscapeHDOnFlash", flash, 1920, 1080, "16:9", ""},
		{"PortraitHDOnFlash", flash, 1080, 1920, "9:16", ""},
		{"ThreeByFourOnFlash", flash, 900, 1200, "3:4", ""},
		{"ExactTwoByThree", flash, 1000, 1500, "2:3", ""},
		{"UltraWide", flash, 2520, 1080, "21:9", ""},
		{"VeryTallSnapsToNineBySixteenWithoutExtremeRatios", flash, 100, 1000, "9:16", ""},
		{"ZeroSizeIsSquare", flash, 0, 0, "1:1", ""},
		{"NegativeSizeIsSquare", pro, -5, 300, "1:1", "1K"},
		{"UnknownModelSendsNoSize", "gemini-nano-banana-2.1", 4096, 4096, "1:1", ""},
		{"ProSquareAt1K", pro, 1024, 1024, "1:1", "1K"},
		{"ProSquareJustOver1KIs2K", pro, 1025, 1025, "1:1", "2K"},
		{"ProSquareAt2K", pro, 2048, 2048, "1:1", "2K"},
		{"ProSquareOver2KIs4K", pro, 2049, 2049, "1:1", "4K"},
		{"ProHugeIsCappedAt4K", pro, 9000, 9000, "1:1", "4K"},
		{"ProFullHDNeeds2K", pro, 1920, 1080, "16:9", "2K"},
		{"ProTierUsesRatioLongEdge", pro, 1376, 768, "16:9", "1K"},
		{"ProFourByFive", pro, 800, 1000, "4:5", "1K"},
		{"ProVeryTallHasNoExtremeRatio", pro, 100, 1000, "9:16", "1K"},
		{"Flash31OneByFour", flash31, 500, 2000, "1:4", "1K"},
		{"Flash31OneByEight", flash31, 100, 1000, "1:8", "1K"},
		{"Flash31EightByOneAt4K", flash31, 12000, 1500, "8:1", "4K"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ratio, size := SnapImage(tt.model, tt.w, tt.h)
			if ratio != tt.wantRatio || size != tt.wantSize {
				t.Errorf("SnapImage(%q, %d, %d) = %q, %q; want %q, %q",
					tt.model, tt.w, tt.h, ratio, size, tt.wantRatio, tt.wantSize)
			}
		})
	}
}

func TestSnapVideo(t *testing.T) {
	tests := []struct {
		name      string
		w, h      int
		wantRatio string
		wantW     int
		wantH     int
	}{
		{"LandscapeIsSixteenByNine", 1920, 1080, "16:9", 1280, 720},
		{"PortraitIsNineBySixteen", 1080, 1920, "9:16", 720, 1280},
		{"SlightlyTallIsPortrait", 999, 1000, "9:16", 720, 1280},
		{"SquareDefaultsToLandscape", 1000, 1000, "16:9", 1280, 720},
		{"ZeroDefaultsToLandscape", 0, 0, "16:9", 1280, 720},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ratio, w, h := SnapVideo(tt.w, tt.h)
			if ratio != tt.wantRatio || w != tt.wantW || h != tt.wantH {
				t.Errorf("SnapVideo(%d, %d) = %q, %d, %d; want %q, %d, %d",
					tt.w, tt.h, ratio, w, h, tt.wantRatio, tt.wantW, tt.wantH)
			}
		})
	}
}

func TestSnapDuration(t *testing.T) {
	for in, want := range map[int]int{-3: 8, 0: 8, 1: 4, 4: 4, 5: 6, 6: 6, 7: 8, 8: 8, 30: 8} {
		if got := SnapDuration(in); got != want {
			t.Errorf("SnapDuration(%d) = %d, want %d", in, got, want)
		}
	}
}
