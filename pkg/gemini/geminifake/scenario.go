package geminifake

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// The scenario tokens; see the package documentation.
const (
	TokenThought     = "[gemini:thought]"
	TokenTextOnly    = "[gemini:text_only]"
	TokenBlock       = "[gemini:block]"
	TokenImageSafety = "[gemini:image_safety]"
	TokenNoImage     = "[gemini:no_image]"
	Token429         = "[gemini:429]"
	Token429Daily    = "[gemini:429_daily]"
	// Token429DailyInfo names the daily quota only in ErrorInfo.metadata.
	Token429DailyInfo = "[gemini:429_daily_errorinfo]"
	// TokenBlockMessage blocks the prompt with only a blockReasonMessage.
	TokenBlockMessage = "[gemini:block_message]"
	Token503          = "[gemini:503]"
	Token500          = "[gemini:500]"
	Token403          = "[gemini:403]"
	Token404          = "[gemini:404]"
	TokenMalformed    = "[gemini:malformed]"
	TokenHang         = "[gemini:hang]"
	TokenFlaky        = "[gemini:flaky]"

	TokenVeoFiltered    = "[veo:filtered]"
	TokenVeoError       = "[veo:error]"
	TokenVeoDownload404 = "[veo:download_404]"
	TokenVeoBig         = "[veo:big]"
	// TokenVeoErrorCode ends the operation with error {code: N}.
	TokenVeoErrorCode = "[veo:error_code="
)

// TokenVeoErrorWith returns the token that ends an operation with the gRPC
// error code n (8 RESOURCE_EXHAUSTED, 14 UNAVAILABLE, 3 INVALID_ARGUMENT...).
// TokenSafetyForSeed makes a call seeded with seed finish IMAGE_SAFETY
// while calls with other seeds succeed: how a test fails some of a
// request's concurrent calls.
func TokenSafetyForSeed(seed int64) string {
	return "[gemini:image_safety_seed=" + strconv.FormatInt(seed, 10) + "]"
}

var safetySeedToken = regexp.MustCompile(`\[gemini:image_safety_seed=(\d{1,10})\]`)

// safetyForSeed reports whether the prompt asks a call with this seed
// (the raw JSON of generationConfig.seed) to be filtered.
func safetyForSeed(text string, seed []byte) bool {
	if len(seed) == 0 {
		return false
	}
	for _, m := range safetySeedToken.FindAllStringSubmatch(text, -1) {
		if m[1] == strings.TrimSpace(string(seed)) {
			return true
		}
	}
	return false
}

func TokenVeoErrorWith(n int) string { return TokenVeoErrorCode + strconv.Itoa(n) + "]" }

var veoErrorToken = regexp.MustCompile(`\[veo:error_code=(\d{1,3})\]`)

// veoErrorCode reads [veo:error_code=N]; 0 means none.
func veoErrorCode(text string) int {
	m := veoErrorToken.FindStringSubmatch(text)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TokenVeoPolls returns the token that keeps an operation running for n
// polls before it is done.
func TokenVeoPolls(n int) string { return "[veo:polls=" + strconv.Itoa(n) + "]" }

// failureTokens are the scenarios answered before a request is even looked
// at, in the order they win when a prompt has several.
var failureTokens = []string{
	TokenHang, TokenMalformed, Token429DailyInfo, Token429Daily, Token429, Token503, Token500, Token403, Token404,
}

// outcomeTokens shape a successful request's answer.
var outcomeTokens = []string{
	TokenBlockMessage, TokenBlock, TokenImageSafety, TokenNoImage, TokenTextOnly, TokenThought,
	TokenVeoFiltered, TokenVeoError, TokenVeoDownload404, TokenVeoBig,
}

// firstToken returns the first of tokens that text contains, or "".
func firstToken(text string, tokens []string) string {
	for _, t := range tokens {
		if strings.Contains(text, t) {
			return t
		}
	}
	return ""
}

var pollsToken = regexp.MustCompile(`\[veo:polls=(\d{1,4})\]`)

// pollsBeforeDone reads [veo:polls=N]; 0 means done at the first poll.
func pollsBeforeDone(text string) int {
	m := pollsToken.FindStringSubmatch(text)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// failure answers the failure scenarios common to every model call and
// reports whether it did. route and prompt key [gemini:flaky]'s memory.
func (s *Server) failure(w http.ResponseWriter, r *http.Request, route, model, prompt string) bool {
	tok := firstToken(prompt, failureTokens)
	if tok == "" && strings.Contains(prompt, TokenFlaky) {
		s.mu.Lock()
		s.attempts[route+"\x00"+prompt]++
		first := s.attempts[route+"\x00"+prompt] == 1
		s.mu.Unlock()
		if first {
			tok = Token503
		}
	}
	switch tok {
	case "":
		return false
	case TokenHang:
		s.hang(r)
	case TokenMalformed:
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"candidates": [{"content": {"role": "model", "parts": [{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo`))
	case Token429:
		writeRaw(w, 429, rateLimitBody(model, "GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "2s"))
	case Token429DailyInfo:
		writeRaw(w, 429, dailyQuotaErrorInfoBody(model))
	case Token429Daily:
		writeRaw(w, 429, rateLimitBody(model, "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "52s"))
	case Token503:
		writeStatus(w, 503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
	case Token500:
		writeStatus(w, 500, "INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting")
	case Token403:
		writeStatus(w, 403, "PERMISSION_DENIED", "The caller does not have permission")
	case Token404:
		writeNotFoundModel(w, model, route)
	}
	return true
}
