package config

import (
	"runtime/debug"
	"strconv"
)

// DefaultMemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit)
// a Tryon process sets for itself when the operator set no GOMEMLIMIT and
// the platform does not say how much memory the process has.
//
// Why a program sets its own limit: what a process holds at once is bounded
// by design (64 MB of image decoding, pkg/inputimage.DecodeBudget; 8 MB of
// large request bodies, pkg/httpapi.BodyBudget; a few MB of runtime and
// pools), but with Go's defaults alone the heap may grow to twice what is
// live before the garbage collector runs, so under hostile load a process
// whose live heap stays under 100 MB reached 300 MB of resident memory.
// 112 MiB sits above that bounded working set: in ordinary traffic the live
// heap is a few MB and the limit is never approached; under load the
// collector runs earlier instead of letting garbage double the heap. It is
// soft: a process whose live heap passed it would collect more often, never
// fail an allocation.
const DefaultMemoryLimit = 112 << 20

// MemoryLimit returns the soft memory limit a Tryon process sets for itself,
// or 0 when it must leave the runtime's alone: GOMEMLIMIT is set (the Go
// runtime has applied it; the operator decides). Where the platform states
// the function's memory in AWS_LAMBDA_FUNCTION_MEMORY_SIZE (MiB), as
// Vercel's functions may, it is three quarters of it, which leaves the rest
// to what the runtime does not count (the executable, thread stacks);
// elsewhere DefaultMemoryLimit.
func MemoryLimit(lookup Lookup) int64 {
	if v, ok := lookup("GOMEMLIMIT"); ok && v != "" {
		return 0
	}
	if v, ok := lookup("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"); ok {
		if mib, err := strconv.ParseInt(v, 10, 64); err == nil && mib > 0 && mib < 1<<20 {
			return mib << 20 * 3 / 4
		}
	}
	return DefaultMemoryLimit
}

// ApplyMemoryLimit sets MemoryLimit on this process, reading the process
// environment, and returns what it set (0: the runtime's was kept). The
// entry points that serve requests call it once: `tryon serve`, `tryon dev`
// and the Vercel functions.
func ApplyMemoryLimit(lookup Lookup) int64 {
	limit := MemoryLimit(lookup)
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	return limit
}
