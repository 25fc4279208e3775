// Package vertexfake is a local server speaking Vertex AI's wire format for
// Virtual Try-On, for tests: Google's OAuth2 token endpoint (the JWT bearer
// grant a service account uses, with the assertion's RS256 signature
// checked against the key it issued) and the model's :predict endpoint,
// with google.rpc error bodies and safety-filtered predictions.
package vertexfake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Project and Email are the fake service account's.
const (
	Project = "tryon-test"
	Email   = "tryon@tryon-test.iam.gserviceaccount.com"
	Scope   = "https://www.googleapis.com/auth/cloud-platform"
)

// Scenario is a failure a test asks every later prediction to answer with.
type Scenario string

// The scenarios.
const (
	Normal      Scenario = ""
	Filtered    Scenario = "filtered"     // 200 with a raiFilteredReason instead of an image
	Invalid     Scenario = "invalid"      // 400 INVALID_ARGUMENT
	Quota       Scenario = "quota"        // 429 RESOURCE_EXHAUSTED
	Unavailable Scenario = "unavailable"  // 503 UNAVAILABLE
	NoPredicts  Scenario = "no_predicts"  // 200 with no predictions
	BadToken    Scenario = "bad_token"    // the token endpoint refuses the assertion
	Unauthorize Scenario = "unauthorized" // 401 UNAUTHENTICATED from :predict
)

// PartlyFiltered answers a sampleCount over 1 with its first sample and a
// raiFilteredReason for each of the others.
const PartlyFiltered Scenario = "partly_filtered"

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server
	key *rsa.PrivateKey

	mu       sync.Mutex
	scenario Scenario
	tokens   map[string]bool
	grants   int
	predicts [][]byte
}

// New starts a fake on a loopback port. Close it when done.
func New() *Server {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("vertexfake: " + err.Error())
	}
	s := &Server{key: key, tokens: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.handleToken)
	mux.HandleFunc("POST /v1/projects/{project}/locations/{location}/publishers/google/models/{call}", s.handlePredict)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusNotFound, "NOT_FOUND", "The requested URL was not found on this server.")
	})
	s.srv = httptest.NewServer(mux)
	return s
}

// URL is the base URL to use as the provider's BaseURL.
func (s *Server) URL() string { return s.srv.URL }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// SetScenario makes every later call answer sc.
func (s *Server) SetScenario(sc Scenario) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scenario = sc
}

// Grants returns how many access tokens the fake has issued.
func (s *Server) Grants() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants
}

// Predictions returns the bodies of every :predict call, in order.
func (s *Server) Predictions() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]byte, len(s.predicts))
	copy(out, s.predicts)
	return out
}

// CredentialsJSON is a service account key file for this fake: its
// token_uri is the fake's token endpoint.
func (s *Server) CredentialsJSON() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		panic("vertexfake: " + err.Error())
	}
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": Project, "private_key_id": "fake-key-1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": Email, "client_id": "1234567890", "token_uri": s.srv.URL + "/token",
	})
	return b
}

// handleToken is Google's token endpoint for the JWT bearer grant
// (RFC 7523): the assertion must be signed by the fake's key and name the
// account, the scope and this endpoint.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		writeOAuthError(w, "unsupported_grant_type", "Invalid grant_type: "+r.PostForm.Get("grant_type"))
		return
	}
	s.mu.Lock()
	sc := s.scenario
	s.mu.Unlock()
	if sc == BadToken || !s.validAssertion(r.PostForm.Get("assertion")) {
		writeOAuthError(w, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	var raw [24]byte
	_, _ = rand.Read(raw[:])
	token := "ya29.fake-" + base64.RawURLEncoding.EncodeToString(raw[:])
	s.mu.Lock()
	s.tokens[token] = true
	s.grants++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": token, "expires_in": 3599, "token_type": "Bearer"})
}

func (s *Server) validAssertion(a string) bool {
	parts := strings.Split(a, ".")
	if len(parts) != 3 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, digest[:], sig) != nil {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var claims struct {
		Iss   string `json:"iss"`
		Scope string `json:"scope"`
		Aud   string `json:"aud"`
		Exp   int64  `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return false
	}
	return claims.Iss == Email && claims.Scope == Scope && claims.Aud == s.srv.URL+"/token" && claims.Exp > time.Now().Unix()
}

// writeOAuthError answers as Google's token endpoint does.
func writeOAuthError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}

// writeStatus answers with a google.rpc.Status error body.
func writeStatus(w http.ResponseWriter, code int, status, message string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": message, "status": status}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
