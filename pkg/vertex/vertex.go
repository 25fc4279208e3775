// Package vertex calls Google's Virtual Try-On model on Vertex AI
// (virtual-try-on-001): a person photo and a product photo in, the person
// wearing the product out, at the person photo's size.
//
// Vertex takes no API key: calls carry an OAuth2 access token obtained with
// a service account's key (the JWT bearer flow of golang.org/x/oauth2/google,
// against the key file's token_uri, which tests point at vertexfake). Every
// failure is a *tryon.ProviderError; the token and the key never reach a
// log line or an error.
package vertex

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/tryonhq/tryon/pkg/retry"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Name is the provider name recorded on generations.
const Name = "vertex"

// DefaultModel is Google's generally available try-on model.
const DefaultModel = "virtual-try-on-001"

// DefaultLocation is the region called when Config.Location is empty.
const DefaultLocation = "us-central1"

// scope is the OAuth2 scope Vertex AI's prediction API requires.
const scope = "https://www.googleapis.com/auth/cloud-platform"

// Config configures a Provider.
type Config struct {
	// CredentialsJSON is a service account key file's contents. Required.
	CredentialsJSON []byte
	// Project is the Google Cloud project; the key file's project_id when empty.
	Project string
	// Location is the Vertex region, DefaultLocation when empty.
	Location string
	// Model is DefaultModel when empty.
	Model string
	// BaseURL is the API root, https://{Location}-aiplatform.googleapis.com
	// when empty; tests point it at a vertexfake.Server.
	BaseURL string
	// HTTPClient sends the token requests and the predictions; a client
	// with a backstop timeout when nil (ctx deadlines govern each call).
	HTTPClient *http.Client
	// Logger receives configuration problems; slog.Default() when nil.
	Logger *slog.Logger
}

// Provider calls Virtual Try-On. It implements tryon.Provider and is safe
// for concurrent use.
type Provider struct {
	project, location, model, baseURL string
	client                            *http.Client
	tokens                            oauth2.TokenSource
	configErr                         string
	log                               *slog.Logger
	retry                             retry.Policy
}

var _ tryon.Provider = (*Provider)(nil)

// New returns a Provider for cfg. A key file that cannot be read does not
// fail here: every call then fails as an auth problem, loudly, so a bad
// secret shows in the logs rather than stopping the whole deployment.
func New(cfg Config) *Provider {
	p := &Provider{project: cfg.Project, location: cfg.Location, model: cfg.Model,
		baseURL: strings.TrimRight(cfg.BaseURL, "/"), client: cfg.HTTPClient, log: cfg.Logger, retry: defaultRetryPolicy}
	if p.location == "" {
		p.location = DefaultLocation
	}
	if p.model == "" {
		p.model = DefaultModel
	}
	if p.baseURL == "" {
		p.baseURL = "https://" + p.location + "-aiplatform.googleapis.com"
	}
	if p.client == nil {
		p.client = &http.Client{Timeout: 5 * time.Minute}
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.log = p.log.With("provider", Name)
	var key struct {
		Type      string `json:"type"`
		ProjectID string `json:"project_id"`
	}
	if err := json.Unmarshal(cfg.CredentialsJSON, &key); err != nil || key.Type != "service_account" {
		p.configErr = "the credentials are not a service account key file"
		return p
	}
	if p.project == "" {
		p.project = key.ProjectID
	}
	conf, err := google.JWTConfigFromJSON(cfg.CredentialsJSON, scope)
	if err != nil {
		p.configErr = "the service account key cannot be read: " + err.Error()
		return p
	}
	// The token source caches the token until shortly before it expires;
	// its requests go through our client, not http.DefaultClient.
	p.tokens = oauth2.ReuseTokenSource(nil, conf.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, p.client)))
	return p
}

// Name returns "vertex".
func (p *Provider) Name() string { return Name }

// Model returns the try-on model for the vto service, "" for any other.
func (p *Provider) Model(s tryon.Service) string {
	if s == tryon.ServiceVTO {
		return p.model
	}
	return ""
}

// endpoint is the model's predict URL.
func (p *Provider) endpoint() string {
	return fmt.Sprintf("%s/v1/projects/%s/locations/%s/publishers/google/models/%s:predict",
		p.baseURL, p.project, p.location, p.model)
}

// report logs configuration problems at error level and returns perr.
func (p *Provider) report(perr *tryon.ProviderError) *tryon.ProviderError {
	if perr.ConfigurationProblem() {
		p.log.Error("vertex provider configuration problem", "kind", string(perr.Kind), "status", perr.Status, "detail", perr.Detail)
	}
	return perr
}
