package postgres_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestGenerationRowIsTheListsRow: a single generation is read through
// tryon_generation (its plan kept), lists select generationColumns. Both
// must give the same generation, column for column, in every state: a
// mismatch of order or type would show a wrong field, or fail to scan.
func TestGenerationRowIsTheListsRow(t *testing.T) {
	ctx := context.Background()
	s := pgtest.NewStore(t)
	c, key := tenant(t, s, nil)
	p := &tryon.Principal{Key: *key, Client: c}

	processing := admission(c, key)
	processing.Metadata = map[string]string{"order": "42"}
	succeeded, failed, longJob := admission(c, key), admission(c, key), admission(c, key)
	for _, a := range []tryon.Admission{processing, succeeded, failed, longJob} {
		if r, err := s.Admit(ctx, a); err != nil || r.Outcome != tryon.Admitted {
			t.Fatalf("admit: %+v %v", r, err)
		}
	}
	out := tryon.Output{URL: "/assets/x", ContentType: "image/png", Width: 8, Height: 6, Bytes: 99}
	if _, err := s.FinishGeneration(ctx, succeeded.ID, tryon.Completion{Succeeded: true, Outputs: []tryon.Output{out, out}}, time.Minute); err != nil {
		t.Fatal(err)
	}
	failure := &tryon.GenerationError{Code: tryon.CodeUpstreamError, Message: "the model refused"}
	if _, err := s.FinishGeneration(ctx, failed.ID, tryon.Completion{Error: failure, RetryAfter: 3 * time.Second}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOperation(ctx, longJob.ID, "operations/video-1", time.Hour, nil); err != nil {
		t.Fatal(err)
	}

	for _, id := range []uuid.UUID{processing.ID, succeeded.ID, failed.ID, longJob.ID} {
		listed, err := s.Pool().Query(ctx, `SELECT `+postgres.GenerationColumns+` FROM generations g WHERE g.id = $1`, id)
		if err != nil {
			t.Fatal(err)
		}
		if !listed.Next() {
			t.Fatalf("%s: not listed", id)
		}
		want, err := postgres.ScanGeneration(listed)
		listed.Close()
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.FindGeneration(ctx, id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n tryon_generation  %+v\n generationColumns %+v", id, got, want)
		}
		read, err := s.ReadGeneration(ctx, p, id, 0, time.Minute)
		if err != nil {
			t.Fatalf("read %s: %v", id, err)
		}
		if !reflect.DeepEqual(read.Value, want) {
			t.Errorf("read %s:\n tryon_generation  %+v\n generationColumns %+v", id, read.Value, want)
		}
	}
	if got, err := s.FindGeneration(ctx, succeeded.ID); err != nil || got.ExpiresAt == nil || len(got.Outputs) != 2 || got.Error != nil {
		t.Fatalf("the success as read: %+v %v, want two outputs and an expiry", got, err)
	}
	other, otherKey := tenant(t, s, nil)
	if r, err := s.ReadGeneration(ctx, &tryon.Principal{Key: *otherKey, Client: other}, succeeded.ID, 0, time.Minute); err != tryon.ErrNotFound {
		t.Fatalf("another tenant's read: %+v %v, want not found", r, err)
	}
}
