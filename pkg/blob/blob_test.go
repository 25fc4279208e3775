package blob

import (
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	t.Run("StoreID", func(t *testing.T) {
		s, err := New(Config{Token: "vercel_blob_rw_AbC123_s3cr3t_with_underscores"})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := s.storeID, "AbC123"; got != want {
			t.Errorf("storeID = %q, want %q", got, want)
		}
		if got, want := s.putURL, DefaultAPIURL+"/"; got != want {
			t.Errorf("putURL = %q, want %q", got, want)
		}
		if got, want := s.prefix, DefaultPrefix; got != want {
			t.Errorf("prefix = %q, want %q", got, want)
		}
	})

	t.Run("Overrides", func(t *testing.T) {
		s, err := New(Config{Token: "vercel_blob_rw_AbC123_secret", APIURL: "http://127.0.0.1:9/api/blob/", Prefix: "test/"})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := s.putURL, "http://127.0.0.1:9/api/blob/"; got != want {
			t.Errorf("putURL = %q, want %q", got, want)
		}
		if got, want := s.prefix, "test/"; got != want {
			t.Errorf("prefix = %q, want %q", got, want)
		}
	})

	for _, tt := range []struct {
		name  string
		token string
	}{
		{"ErrNoToken", ""},
		{"ErrReadOnlyToken", "vercel_blob_ro_AbC123_s3kr1tValue"},
		{"ErrNoStoreID", "vercel_blob_rw__s3kr1tValue"},
		{"ErrNoSecret", "vercel_blob_rw_AbC123_"},
		{"ErrNoSecretSeparator", "vercel_blob_rw_AbC123s3kr1tValue"},
		{"ErrStoreIDNotAlphanumeric", "vercel_blob_rw_AbC-123_s3kr1tValue"},
		{"ErrSpaceInSecret", "vercel_blob_rw_AbC123_secret value"},
		{"ErrNewlineInSecret", "vercel_blob_rw_AbC123_s3kr1tValue\n"},
		{"ErrBearerPasted", "Bearer vercel_blob_rw_AbC123_s3kr1tValue"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{Token: tt.token})
			if err == nil {
				t.Fatal("err = nil, want an error")
			}
			if tt.token != "" && strings.Contains(err.Error(), "s3kr1t") {
				t.Errorf("err = %q, which quotes the token", err)
			}
		})
	}

	for _, api := range []string{"vercel.com/api/blob", "ftp://vercel.com/api/blob", "https:///api/blob", "https://vercel.com/api/blob?x=1", "://"} {
		t.Run("ErrAPIURL", func(t *testing.T) {
			if _, err := New(Config{Token: "vercel_blob_rw_AbC123_secret", APIURL: api}); err == nil {
				t.Errorf("New(APIURL: %q): err = nil, want an error", api)
			}
		})
	}
}
