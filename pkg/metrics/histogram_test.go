package metrics_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tryonhq/tryon/pkg/metrics"
)

func TestPrecisionIsHalfABucket(t *testing.T) {
	if want := math.Exp2(1.0/16) - 1; math.Abs(metrics.Precision-want) > 1e-15 {
		t.Fatalf("Precision = %v, want 2^(1/16)-1 = %v", metrics.Precision, want)
	}
}

// Every latency from 1 ms to about 17 minutes, and a sample up to days,
// is reported within Precision of itself (plus half a millisecond of
// rounding), and that bound is tight: some latency comes close to it.
func TestBucketMiddleWithinPrecision(t *testing.T) {
	check := func(ms int64) float64 {
		b := metrics.BucketOf(ms)
		exact := math.Exp2((float64(b) + 0.5) / metrics.BucketsPerDoubling)
		rel := math.Abs(exact-float64(ms)) / float64(ms)
		if rel > metrics.Precision+1e-12 {
			t.Fatalf("%d ms: bucket %d, middle %.3f: relative error %.5f > %.5f", ms, b, exact, rel, metrics.Precision)
		}
		if got := metrics.Middle(b); math.Abs(float64(got)-exact) > 0.5 {
			t.Fatalf("Middle(%d) = %d, want %.3f rounded", b, got, exact)
		}
		return rel
	}
	worst := 0.0
	for ms := int64(1); ms <= 1<<20; ms++ {
		worst = max(worst, check(ms))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		worst = max(worst, check(1+r.Int64N(7*24*3600*1000)))
	}
	if worst < metrics.Precision*0.99 {
		t.Fatalf("worst relative error %.5f: the stated precision %.5f is not tight", worst, metrics.Precision)
	}
}

func TestBucketBoundaries(t *testing.T) {
	for _, tc := range []struct {
		ms   int64
		want int
	}{{-5, 0}, {0, 0}, {1, 0}, {2, 8}, {3, 12}, {1000, 79}, {8000, 103}, {1 << 20, 160}} {
		if got := metrics.BucketOf(tc.ms); got != tc.want {
			t.Errorf("BucketOf(%d) = %d, want %d", tc.ms, got, tc.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	var empty metrics.Histogram
	if _, ok := empty.Percentile(50); ok {
		t.Fatal("an empty histogram has a median")
	}
	var h metrics.Histogram
	// Twenty latencies: 19 in one bucket and the slowest in another. The
	// 95th percentile by nearest rank is the 19th, not the 20th.
	h.Add(metrics.BucketOf(1000), 19)
	h.Add(metrics.BucketOf(60_000), 1)
	if got, _ := h.Percentile(95); got != metrics.Middle(metrics.BucketOf(1000)) {
		t.Fatalf("p95 = %d, want the middle of 1000 ms's bucket, %d", got, metrics.Middle(metrics.BucketOf(1000)))
	}
	if got, _ := h.Percentile(100); got != metrics.Middle(metrics.BucketOf(60_000)) {
		t.Fatalf("p100 = %d, want the slowest bucket's middle", got)
	}
	if h.Count() != 20 {
		t.Fatalf("count %d, want 20", h.Count())
	}
	var merged metrics.Histogram
	merged.Merge(h)
	merged.Merge(h)
	if merged.Count() != 40 {
		t.Fatalf("merged count %d, want 40", merged.Count())
	}
}

// The reported percentiles of random samples are within Precision of the
// exact nearest-rank percentiles.
func TestPercentileAgainstExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	dists := map[string]func() int64{
		"LogNormal8s": func() int64 { return int64(math.Round(math.Exp(math.Log(8000) + 0.6*r.NormFloat64()))) },
		"Uniform":     func() int64 { return 50 + r.Int64N(30_000) },
		"Bimodal": func() int64 {
			if r.IntN(10) < 7 {
				return 900 + r.Int64N(200)
			}
			return 60_000 + r.Int64N(30_000)
		},
	}
	for name, draw := range dists {
		t.Run(name, func(t *testing.T) {
			for _, n := range []int{1, 2, 19, 20, 21, 1000, 12345} {
				var h metrics.Histogram
				xs := make([]int64, n)
				for i := range xs {
					xs[i] = max(draw(), 1)
					h.Add(metrics.BucketOf(xs[i]), 1)
				}
				slices.Sort(xs)
				for _, p := range []int{50, 95} {
					exact := xs[(p*n+99)/100-1]
					got, ok := h.Percentile(p)
					if !ok || math.Abs(float64(got-exact)) > metrics.Precision*float64(exact)+0.5 {
						t.Fatalf("n=%d p%d = %d, exact %d: off by more than %.2f%%", n, p, got, exact, 100*metrics.Precision)
					}
				}
			}
		})
	}
}
