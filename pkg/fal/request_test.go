package fal

import (
	"testing"
)

func TestSnapAspectRatio(t *testing.T) {
	for _, tc := range []struct {
		w, h int
		want string
	}{
		{0, 0, ""},
		{1024, 0, ""},
		{-5, 10, ""},
		{1, 1, "1:1"},
		{1920, 1080, "16:9"},
		{1080, 1920, "9:16"},
		{768, 1024, "3:4"},
		{1024, 768, "4:3"},
		{832, 1248, "2:3"},
		{1248, 832, "3:2"},
		{896, 1152, "4:5"},
		{1152, 896, "5:4"},
		{2560, 1080, "21:9"},
		{10000, 100, "21:9"}, // wider than anything fal offers
		{100, 10000, "9:16"},
		{1100, 1000, "1:1"}, // 1.1 is nearer 1:1 than 5:4 on a log scale
	} {
		if got := snapAspectRatio(tc.w, tc.h); got != tc.want {
			t.Errorf("snapAspectRatio(%d, %d) = %q, want %q", tc.w, tc.h, got, tc.want)
		}
	}
}
