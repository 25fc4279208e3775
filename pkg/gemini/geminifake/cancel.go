package geminifake

import (
	"bytes"
	"io"
	"net/http"
	"strings"
)

// RouteCancel counts operations' :cancel calls.
const RouteCancel = "cancel"

// cancelledCode and cancelledMessage are the error a cancelled operation
// ends with: google.rpc.Code CANCELLED, as Google's operations document
// (the message is the fake's own wording).
const (
	cancelledCode    = 1
	cancelledMessage = "The operation was cancelled."
)

// handleCancel serves POST models/{model}/operations/{id}:cancel, Google's
// long-running operations' cancel: the body must be empty (an empty JSON
// object is tolerated, as Google's proto-JSON parser reads it as no
// fields), the answer is 200 with an empty JSON object, and the operation
// then polls as done with error code 1 (CANCELLED). Cancelling an operation
// that is already done changes nothing and answers the same, as upstream,
// where cancellation is best effort.
func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("id"), ":cancel")
	if !ok {
		writeStatus(w, http.StatusNotFound, "NOT_FOUND", "Method not found.")
		return
	}
	if !s.authorized(r) {
		writeRaw(w, http.StatusBadRequest, badKeyBody)
		return
	}
	body, _ := io.ReadAll(r.Body) // record has buffered it
	if b := bytes.TrimSpace(body); len(b) > 0 && !bytes.Equal(b, []byte("{}")) {
		writeInvalid(w, "Invalid JSON payload received. Unknown name: the request body must be empty.")
		return
	}
	s.mu.Lock()
	op, found := s.ops[id]
	if found && op.model != r.PathValue("model") {
		found = false
	}
	if found && op.pollsLeft > 0 {
		// Still running: it stops now. A done one keeps its outcome.
		op.pollsLeft = 0
		op.errorCode = cancelledCode
	}
	s.mu.Unlock()
	if !found {
		writeStatus(w, http.StatusNotFound, "NOT_FOUND", "Operation not found.")
		return
	}
	writeJSON(w, map[string]any{})
}
