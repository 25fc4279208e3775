package metrics

import (
	"math"
	"slices"
)

// The latency histogram has logarithmic buckets: bucket b holds latencies in
// [2^(b/8), 2^((b+1)/8)) milliseconds, eight buckets per doubling, and
// bucket 0 also holds everything under 1 ms. The database assigns buckets
// (tryon_latency_bucket in schema.sql) as it writes the rollups; BucketOf is
// the same formula, for tests and tools.
//
// A percentile is reported as the geometric middle of the bucket that holds
// it, 2^((b+0.5)/8) ms. Every latency x in the bucket is within a factor of
// 2^(1/16) of that middle, so the reported value is within Precision of the
// exact one: at most 4.43% above it and 4.24% below it, before rounding to
// whole milliseconds. Documents that say ±4.4% round this down by 0.03
// points; the tests check 4.43%.

// BucketsPerDoubling is the histogram's resolution.
const BucketsPerDoubling = 8

// Precision is the largest relative error of a reported percentile,
// 2^(1/16) − 1: |reported − exact| ≤ Precision·exact, before the
// reported value is rounded to a whole millisecond. It holds for latencies
// of 1 ms and more; anything faster is reported as 1 ms.
const Precision = 0.044273782427413755

// BucketOf returns the histogram bucket of a latency in milliseconds, as
// tryon_latency_bucket computes it.
func BucketOf(ms int64) int {
	if ms < 1 {
		return 0
	}
	return min(int(math.Floor(math.Log(float64(ms))/math.Log(2)*BucketsPerDoubling)), 32000)
}

// Middle returns the geometric middle of bucket b in whole milliseconds:
// the value reported for any percentile that falls in it.
func Middle(b int) int64 {
	return int64(math.Round(math.Exp2((float64(b) + 0.5) / BucketsPerDoubling)))
}

// Histogram counts latencies per bucket.
type Histogram struct {
	counts map[int]int64
	total  int64
}

// Add counts n latencies in bucket b.
func (h *Histogram) Add(b int, n int64) {
	if n <= 0 {
		return
	}
	if h.counts == nil {
		h.counts = map[int]int64{}
	}
	h.counts[b] += n
	h.total += n
}

// Merge adds every count of o to h.
func (h *Histogram) Merge(o Histogram) {
	for b, n := range o.counts {
		h.Add(b, n)
	}
}

// Count is the number of latencies counted.
func (h Histogram) Count() int64 { return h.total }

// Percentile returns the p-th percentile (0 < p ≤ 100) by nearest rank,
// the smallest latency with at least p% of them at or below it, as the
// middle of its bucket; false when the histogram is empty.
func (h Histogram) Percentile(p int) (int64, bool) {
	if h.total == 0 || p <= 0 || p > 100 {
		return 0, false
	}
	// ceil(p/100 · total) in integers, so 95% of 20 is rank 19, not 20.
	rank := (int64(p)*h.total + 99) / 100
	buckets := make([]int, 0, len(h.counts))
	for b := range h.counts {
		buckets = append(buckets, b)
	}
	slices.Sort(buckets)
	var seen int64
	for _, b := range buckets {
		seen += h.counts[b]
		if seen >= rank {
			return Middle(b), true
		}
	}
	return Middle(buckets[len(buckets)-1]), true
}
