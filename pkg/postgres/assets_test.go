package postgres_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestStagedOutputIsStoredWithItsSuccess: a staged output is written by the
// transaction that records the success, and only by it: a second finish of
// the same generation (already final) stores nothing of its own.
func TestStagedOutputIsStoredWithItsSuccess(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	_, a := inFlight(t, s, nil)
	assets := postgres.Assets{Store: s}
	finish := func(data []byte) (*tryon.FinishResult, string) {
		t.Helper()
		url, staged, err := assets.Stage(a.ID.String()+".png", "image/png", data)
		if err != nil {
			t.Fatal(err)
		}
		out := &tryon.Output{URL: url, ContentType: "image/png", Width: 1, Height: 1, Bytes: int64(len(data))}
		f, err := s.FinishGeneration(ctx, a.ID, tryon.Completion{Succeeded: true, Outputs: []tryon.Output{*out}, Staged: []*tryon.StagedOutput{staged}}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return f, staged.Token
	}
	first, token := finish([]byte("first output"))
	if !first.Finished || first.Generation.Output == nil {
		t.Fatalf("first finish: %+v", first)
	}
	got, err := s.FindAsset(ctx, token+".png")
	if err != nil || got.ContentType != "image/png" || !bytes.Equal(got.Data, []byte("first output")) {
		t.Fatalf("the staged output after its success: %+v %v", got, err)
	}
	second, token2 := finish([]byte("second output"))
	if second.Finished || second.Generation.Output.URL != first.Generation.Output.URL {
		t.Fatalf("second finish: %+v, want the first's result unchanged", second)
	}
	if _, err := s.FindAsset(ctx, token2); err != tryon.ErrNotFound {
		t.Fatalf("the second finish's output: %v, want not found (nothing stored)", err)
	}
}
