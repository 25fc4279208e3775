package blob

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/tryonhq/tryon/pkg/blob/blobfake"
)

func getStatus(t *testing.T, fake *blobfake.Server, u string) int {
	t.Helper()
	resp, err := fake.Client().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestDelete(t *testing.T) {
	t.Run("RemovesTheBlob", func(t *testing.T) {
		fake := blobfake.New(t)
		s, _ := newStore(t, fake, fake.Token)
		keep, err := s.Put(context.Background(), "keep.png", "image/png", pngBytes)
		if err != nil {
			t.Fatal(err)
		}
		gone, err := s.Put(context.Background(), "gone.png", "image/png", pngBytes)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(context.Background(), []string{gone}); err != nil {
			t.Fatal(err)
		}
		if got := getStatus(t, fake, gone); got != http.StatusNotFound {
			t.Errorf("GET deleted blob = %d, want 404", got)
		}
		if got := getStatus(t, fake, keep); got != http.StatusOK {
			t.Errorf("GET other blob = %d, want 200", got)
		}
		dels := fake.Deletes()
		if len(dels) != 1 {
			t.Fatalf("delete requests = %d, want 1", len(dels))
		}
		if got := dels[0].URLs; len(got) != 1 || got[0] != gone {
			t.Errorf("urls = %q, want [%q]", got, gone)
		}
		for name, want := range map[string]string{
			"Authorization":          "Bearer " + fake.Token,
			"X-Api-Version":          "12",
			"X-Vercel-Blob-Store-Id": blobfake.StoreID,
			"Content-Type":           "application/json",
		} {
			if got := dels[0].Header.Values(name); len(got) != 1 || got[0] != want {
				t.Errorf("%s = %q, want [%q]", name, got, want)
			}
		}
	})

	t.Run("TwiceIsFine", func(t *testing.T) {
		fake := blobfake.New(t)
		s, _ := newStore(t, fake, fake.Token)
		u, err := s.Put(context.Background(), "twice.png", "image/png", pngBytes)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if err := s.Delete(context.Background(), []string{u}); err != nil {
				t.Fatalf("delete %d: %v", i+1, err)
			}
		}
	})

	t.Run("Batches", func(t *testing.T) {
		fake := blobfake.New(t)
		s, _ := newStore(t, fake, fake.Token)
		var urls []string
		for i := range MaxDeleteBatch + 5 {
			u, err := s.Put(context.Background(), fmt.Sprintf("b%d.png", i), "image/png", pngBytes)
			if err != nil {
				t.Fatal(err)
			}
			urls = append(urls, u)
		}
		if err := s.Delete(context.Background(), urls); err != nil {
			t.Fatal(err)
		}
		dels := fake.Deletes()
		if len(dels) != 2 || len(dels[0].URLs) != MaxDeleteBatch || len(dels[1].URLs) != 5 {
			t.Fatalf("delete requests carried %d batches, want %d and 5 URLs", len(dels), MaxDeleteBatch)
		}
		for _, u := range urls {
			if got := getStatus(t, fake, u); got != http.StatusNotFound {
				t.Fatalf("GET %s = %d after delete, want 404", u, got)
			}
		}
	})

	t.Run("RetriesBusy", func(t *testing.T) {
		fake := blobfake.New(t)
		s, waits := newStore(t, fake, fake.Token)
		u, err := s.Put(context.Background(), "busy.png", "image/png", pngBytes)
		if err != nil {
			t.Fatal(err)
		}
		fake.Inject(blobfake.ServiceUnavailable)
		if err := s.Delete(context.Background(), []string{u}); err != nil {
			t.Fatal(err)
		}
		if len(*waits) != 1 || len(fake.Deletes()) != 2 {
			t.Errorf("waits %v, requests %d; want one retry", *waits, len(fake.Deletes()))
		}
		if got := getStatus(t, fake, u); got != http.StatusNotFound {
			t.Errorf("GET = %d, want 404", got)
		}
	})

	t.Run("ErrForbiddenNotRetried", func(t *testing.T) {
		fake := blobfake.New(t)
		s, _ := newStore(t, fake, fake.Token)
		u, err := s.Put(context.Background(), "f.png", "image/png", pngBytes)
		if err != nil {
			t.Fatal(err)
		}
		fake.Inject(blobfake.Forbidden)
		err = s.Delete(context.Background(), []string{u})
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Code != "forbidden" {
			t.Fatalf("err = %v, want the API's forbidden", err)
		}
		if len(fake.Deletes()) != 1 {
			t.Errorf("requests = %d, want 1", len(fake.Deletes()))
		}
		if got := getStatus(t, fake, u); got != http.StatusOK {
			t.Errorf("GET = %d after a refused delete, want 200", got)
		}
	})

	t.Run("ErrWrongToken", func(t *testing.T) {
		fake := blobfake.New(t)
		s, _ := newStore(t, fake, "vercel_blob_rw_"+blobfake.StoreID+"_wrongsecret")
		err := s.Delete(context.Background(), []string{fake.URL + "/generations/x.png"})
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden {
			t.Fatalf("err = %v, want 403", err)
		}
	})
}
