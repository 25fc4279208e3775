package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// TestVMHWMReadsThisProcess reads this test process's own peak RSS: it is
// at least what the runtime has obtained from the OS for its heap.
func TestVMHWMReadsThisProcess(t *testing.T) {
	kb, err := vmHWM(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if kb < 1024 || kb > 64<<20 {
		t.Fatalf("VmHWM %d kB is not a plausible peak for a test process", kb)
	}
	if _, err := vmHWM(-1); err == nil {
		t.Fatal("a process that does not exist has a VmHWM")
	}
}

// TestHostileReportFails checks that the report fails a run whose peak
// memory is over the target or whose requests were not answered as
// expected, and passes one that is neither.
func TestHostileReportFails(t *testing.T) {
	kinds := []hostileKind{{name: "bombs", status: 400}, {name: "photos", status: 200}}
	ok := [][]hostileSample{{{status: 400, latency: time.Millisecond}}, {{status: 200, latency: time.Second}}}
	good := hostileReport{command: "tryon bench hostile", kinds: kinds, results: ok, idleKB: 15 << 10, peakKB: 100 << 10}
	var out bytes.Buffer
	good.write(&out)
	if err := good.failed(); err != nil {
		t.Errorf("a run within the target failed: %v", err)
	}
	if !strings.Contains(out.String(), "| photos | 1 | 200 | 1 |") || !strings.Contains(out.String(), "100.0 MB after the load: under") {
		t.Errorf("report:\n%s", &out)
	}

	over := good
	over.peakKB = (hostileRSSTarget + 1) << 10
	if err := over.failed(); err == nil || !strings.Contains(err.Error(), "over the 150 MB target") {
		t.Errorf("a run over the memory target: got %v", err)
	}
	wrong := good
	wrong.results = [][]hostileSample{{{status: 502, failure: "502 upstream_error"}}, ok[1]}
	if err := wrong.failed(); err == nil || !strings.Contains(err.Error(), "bombs: want 400") {
		t.Errorf("a run with a 502: got %v", err)
	}
}
