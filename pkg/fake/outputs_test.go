package fake

import (
	"bytes"
	"context"
	"testing"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestSeveralOutputsAreDeterministicVariants: output i is drawn as if
// seeded seed+i, so the variants differ from each other, the same request
// draws the same set, and output i of a set is the single output of a
// request seeded seed+i.
func TestSeveralOutputsAreDeterministicVariants(t *testing.T) {
	p := New(Options{})
	seed := int64(5)
	req := imageRequest("a scarf")
	req.Seed, req.NumOutputs = &seed, 3
	first, err := p.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := p.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	a, b := first.All(), again.All()
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("%d and %d outputs, want 3", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i].Bytes, b[i].Bytes) {
			t.Fatalf("variant %d differs between identical requests", i)
		}
		for j := range i {
			if bytes.Equal(a[i].Bytes, a[j].Bytes) {
				t.Fatalf("variants %d and %d are the same image", j, i)
			}
		}
	}
	one := imageRequest("a scarf")
	s6 := int64(6)
	one.Seed = &s6
	single, err := p.Generate(context.Background(), one)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(single.Bytes, a[1].Bytes) || len(single.More) != 0 {
		t.Fatal("output 1 of a set seeded 5 is not the single output seeded 6")
	}
}

// TestOutputsToken: [fake:outputs=K] makes at most K of the outputs asked
// for; K = 0 is a no_output failure.
func TestOutputsToken(t *testing.T) {
	p := New(Options{})
	req := imageRequest("a scarf [fake:outputs=2]")
	req.NumOutputs = 4
	out, err := p.Generate(context.Background(), req)
	if err != nil || len(out.All()) != 2 {
		t.Fatalf("got %v, %v; want 2 outputs", out, err)
	}
	req.NumOutputs = 1
	if out, err := p.Generate(context.Background(), req); err != nil || len(out.All()) != 1 {
		t.Fatalf("a cap above the count asked: %v, %v", out, err)
	}
	req = imageRequest("a scarf [fake:outputs=0]")
	req.NumOutputs = 3
	_, err = p.Generate(context.Background(), req)
	providerError(t, err, tryon.FailNoOutput)
}
