package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"sync"
	"testing"

	"golang.org/x/sync/semaphore"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// signalReader is a request body that says when the server reads past its
// first smallBody+1 bytes: what readBody does only once it has room.
type signalReader struct {
	r    *bytes.Reader
	read int
	past chan<- int
	id   int
	once sync.Once
}

func (s *signalReader) Read(p []byte) (int, error) {
	if s.read > smallBody {
		s.once.Do(func() { s.past <- s.id })
	}
	n, err := s.r.Read(p)
	s.read += n
	return n, err
}

// TestBodyGateBoundsLargeBodies sends five 3 MB bodies at once to a budget
// that holds two: two are read, the other three wait after their first
// bytes; each release lets exactly one more be read; small bodies never
// wait; at the end the whole budget is free.
func TestBodyGateBoundsLargeBodies(t *testing.T) {
	const size, n = 3 << 20, 5
	queued := make(chan struct{}, n)
	gate := &bodyGate{sem: semaphore.NewWeighted(2 * size), queued: func() { queued <- struct{}{} }}
	past := make(chan int, n)
	type result struct {
		id   int
		hold *bodyHold
		body []byte
		err  error
	}
	results := make(chan result, n)
	body := bytes.Repeat([]byte("a"), size)
	for id := range n {
		go func() {
			r := httptest.NewRequest("POST", "/generate", nil)
			r.Body = io.NopCloser(&signalReader{r: bytes.NewReader(body), past: past, id: id})
			r.ContentLength = size
			b, hold, err := readBody(gate, nil, r)
			results <- result{id, hold, b, err}
		}()
	}

	// Two are read, three queue: in whatever order they come.
	var reading []int
	for waiting := 0; len(reading) < 2 || waiting < 3; {
		select {
		case id := <-past:
			if reading = append(reading, id); len(reading) > 2 {
				t.Fatalf("bodies %v are read at once; the budget holds two", reading)
			}
		case <-queued:
			waiting++
		}
	}
	// A small body is read whatever the budget holds.
	small := httptest.NewRequest("POST", "/generate", bytes.NewReader([]byte(`{"prompt":"a"}`)))
	if b, hold, err := readBody(gate, nil, small); err != nil || hold != nil || string(b) != `{"prompt":"a"}` {
		t.Fatalf("small body: %q, %v, %v", b, hold, err)
	}

	done := 0
	for done < n {
		res := <-results
		if res.err != nil || len(res.body) != size {
			t.Fatalf("body %d: %d bytes, %v", res.id, len(res.body), res.err)
		}
		done++
		res.hold.release()
		res.hold.release() // a second release gives nothing back twice
		if done <= n-2 {
			// The release lets exactly one waiting body be read.
			id := <-past
			reading = append(reading, id)
		}
	}
	if len(reading) != n {
		t.Fatalf("read %v", reading)
	}
	if !gate.sem.TryAcquire(2 * size) {
		t.Fatal("the bodies did not give back their share of the budget")
	}
}

// TestBodyGateRefusesWhenTheWaitEnds fills the budget: a large body whose
// wait ends (here its request is cancelled) is refused as 503 unavailable
// with Retry-After, and holds nothing.
func TestBodyGateRefusesWhenTheWaitEnds(t *testing.T) {
	const size = 1 << 20
	gate := &bodyGate{sem: semaphore.NewWeighted(size)}
	if !gate.sem.TryAcquire(size) {
		t.Fatal("fresh budget is full")
	}
	ctx, cancel := context.WithCancel(context.Background())
	queued := make(chan struct{})
	gate.queued = func() { close(queued) }
	errc := make(chan error)
	go func() {
		r := httptest.NewRequestWithContext(ctx, "POST", "/generate", bytes.NewReader(make([]byte, size)))
		_, hold, err := readBody(gate, nil, r)
		if hold != nil {
			err = errors.New("a refused body holds part of the budget")
		}
		errc <- err
	}()
	<-queued
	cancel()
	err := <-errc
	var te *tryon.Error
	if !errors.As(err, &te) || te.Code != tryon.CodeUnavailable || te.RetryAfter <= 0 {
		t.Fatalf("got %v, want unavailable with a Retry-After", err)
	}
	gate.sem.Release(size)
	if !gate.sem.TryAcquire(size) {
		t.Fatal("the refused body kept part of the budget")
	}
}
