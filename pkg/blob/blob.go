// Package blob stores generation outputs in Vercel Blob, served from Vercel's CDN.
//
// It speaks the upload protocol of the official @vercel/blob client
// (docs/PROVIDERS.md, "Vercel Blob") with the standard library alone. Vercel
// functions cannot answer more than 4.5 MB, so in production outputs live here
// and generations point at their public CDN URLs instead of /assets.
package blob

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/retry"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// DefaultAPIURL is the Blob API that Config.APIURL falls back to.
const DefaultAPIURL = "https://vercel.com/api/blob"

// DefaultPrefix is the folder that Config.Prefix falls back to.
const DefaultPrefix = "generations/"

// tokenPrefix starts every read-write token; the store ID follows it.
const tokenPrefix = "vercel_blob_rw_"

// Config says which store to write to and how.
type Config struct {
	// Token is the store's read-write token (BLOB_READ_WRITE_TOKEN),
	// vercel_blob_rw_<storeId>_<secret>.
	Token string
	// APIURL is the API's base URL; empty means DefaultAPIURL. It plays the
	// part of VERCEL_BLOB_API_URL for the official client, which is how tests
	// point the store at blobfake.
	APIURL string
	// HTTPClient sends the uploads; nil means a client whose two-minute
	// timeout bounds one attempt even when the caller's ctx has no deadline.
	HTTPClient *http.Client
	// Prefix goes in front of every name; empty means DefaultPrefix.
	Prefix string
}

// Store uploads outputs to one Vercel Blob store. It is safe for concurrent
// use.
type Store struct {
	token   string
	storeID string
	putURL  string
	prefix  string
	client  *http.Client
	// retry is when uploads are tried again; tests swap its Sleep to run
	// retries without real delays and to see the delays chosen.
	retry retry.Policy
}

var _ tryon.Storage = (*Store)(nil)

// errNoToken and errMalformedToken never quote the token: configuration
// errors end up in logs, and the token grants write access to the store.
var (
	errNoToken        = errors.New("blob: no token: set BLOB_READ_WRITE_TOKEN")
	errMalformedToken = errors.New("blob: malformed token: want vercel_blob_rw_<storeId>_<secret>")
)

// New checks cfg and returns a Store. It fails if the token is missing or
// malformed, or if the API URL is not an absolute http(s) URL.
func New(cfg Config) (*Store, error) {
	storeID, err := parseToken(cfg.Token)
	if err != nil {
		return nil, err
	}
	api := cfg.APIURL
	if api == "" {
		api = DefaultAPIURL
	}
	u, err := url.Parse(api)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("blob: API URL %q is not an absolute http(s) URL without a query", api)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Minute}
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{
		token:   cfg.Token,
		storeID: storeID,
		putURL:  strings.TrimRight(api, "/") + "/",
		prefix:  prefix,
		client:  client,
		retry:   defaultRetryPolicy,
	}, nil
}

// parseToken returns the store ID, the fourth "_" field of the token, which
// the API wants again in x-vercel-blob-store-id.
func parseToken(token string) (storeID string, err error) {
	if token == "" {
		return "", errNoToken
	}
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return "", errMalformedToken
	}
	storeID, secret, ok := strings.Cut(rest, "_")
	if !ok || storeID == "" || secret == "" {
		return "", errMalformedToken
	}
	for _, c := range storeID {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return "", errMalformedToken
		}
	}
	// The token travels in a header: whitespace or control characters mean
	// a copy-paste accident, better reported here than as a 403 later.
	for _, c := range secret {
		if c <= ' ' || c > '~' {
			return "", errMalformedToken
		}
	}
	return storeID, nil
}
