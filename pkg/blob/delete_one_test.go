package blob

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/blob/blobfake"
)

func TestDeleteOne(t *testing.T) {
	fake := blobfake.New(t)
	s, _ := newStore(t, fake, fake.Token)
	u, err := s.Put(context.Background(), "gen_1.png", "image/png", pngBytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(context.Background(), []string{u}); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if got := fake.Deleted(); len(got) != 1 || got[0] != u {
		t.Fatalf("deleted %v, want [%s]", got, u)
	}
	resp, err := fake.Client().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET after Remove: %d, want 404", resp.StatusCode)
	}

	other := "vercel_blob_rw_" + blobfake.StoreID + "_someoneelsessecretsomeoneelses"
	bad, _ := newStore(t, fake, other)
	err = bad.Delete(context.Background(), []string{u})
	if err == nil || !strings.Contains(err.Error(), "forbidden") || strings.Contains(err.Error(), other) {
		t.Fatalf("a wrong token: %v, want forbidden without the token", err)
	}
}
