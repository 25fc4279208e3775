package fal

import (
	"context"
	"testing"
	"time"
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

func TestBackoff(t *testing.T) {
	r := retryPolicy{maxAttempts: 5, base: 400 * time.Millisecond, max: time.Second}
	for attempt, ceiling := range map[int]time.Duration{1: 400 * time.Millisecond, 2: 800 * time.Millisecond, 3: time.Second, 9: time.Second} {
		for range 50 {
			if d := r.backoff(attempt); d < ceiling/2 || d >= ceiling {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v)", attempt, d, ceiling/2, ceiling)
			}
		}
	}
	if d := (retryPolicy{}).backoff(1); d != 0 {
		t.Errorf("zero policy backoff = %v, want 0", d)
	}
}

func TestRoomFor(t *testing.T) {
	r := retryPolicy{minAttempt: 5 * time.Second}
	if !r.roomFor(context.Background(), time.Hour) {
		t.Error("no deadline: want room")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if !r.roomFor(ctx, time.Second) {
		t.Error("a minute left, 1s wait + 5s attempt: want room")
	}
	if r.roomFor(ctx, 56*time.Second) {
		t.Error("a minute left, 56s wait + 5s attempt: want no room")
	}
}
