package blobfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Deleted returns the URLs the delete API was asked to delete, in order.
func (s *Server) Deleted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.deleted...)
}

// handleDelete serves POST /delete, the official client's del(): the token
// as for uploads, a JSON body {"urls": [...]}, each URL one of this store's
// (a URL the store does not hold is no error, as upstream); the answer is
// 200 with an empty JSON object.
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case bearer != s.Token:
		writeError(w, http.StatusForbidden, "forbidden", "Access denied, please provide a valid token for this resource.")
		return
	case r.Header.Get("X-Api-Version") != "12":
		writeError(w, http.StatusBadRequest, "bad_request", "x-api-version must be 12, got "+strconv.Quote(r.Header.Get("X-Api-Version")))
		return
	}
	var req struct {
		URLs []string `json:"urls"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(body, &req); err != nil || len(req.URLs) == 0 {
		writeError(w, http.StatusBadRequest, "bad_request", "the body must be {\"urls\": [...]} with at least one URL")
		return
	}
	s.mu.Lock()
	for _, raw := range req.URLs {
		s.deleted = append(s.deleted, raw)
		if u, err := url.Parse(raw); err == nil && strings.HasPrefix(raw, s.URL+"/") {
			delete(s.blobs, strings.TrimPrefix(u.Path, "/"))
		}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte("{}"))
}
