package geminifake

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// badKeyBody is Google's answer to a missing or wrong key, byte for byte as
// docs/PROVIDERS.md §1.5 transcribes it.
const badKeyBody = `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",
 "details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com",
   "metadata":{"service":"generativelanguage.googleapis.com"}},
  {"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key not valid. Please pass a valid API key."}]}}`

// rateLimitBody is a 429 as captured from the real API: QuotaFailure, Help
// and RetryInfo details.
func rateLimitBody(model, quotaID, retryDelay string) string {
	m, _ := json.Marshal(model)
	return `{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
 "status":"RESOURCE_EXHAUSTED",
 "details":[
  {"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"` + quotaID + `","quotaDimensions":{"location":"global","model":` + string(m) + `},"quotaValue":"10"}]},
  {"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},
  {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"` + retryDelay + `"}]}}`
}

// dailyQuotaErrorInfoBody is a 429 whose only word on which quota ran out
// is ErrorInfo's metadata, as Google's RATE_LIMIT_EXCEEDED errors carry it
// (quota_limit / quota_metric naming a per-day quota), with a RetryInfo that
// a per-minute limit would also carry.
func dailyQuotaErrorInfoBody(model string) string {
	m, _ := json.Marshal(model)
	return `{"error":{"code":429,"message":"Quota exceeded for quota metric 'Generate requests per day' and limit 'GenerateRequestsPerDayPerProjectPerModel' of service 'generativelanguage.googleapis.com'.",
 "status":"RESOURCE_EXHAUSTED",
 "details":[
  {"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RATE_LIMIT_EXCEEDED","domain":"googleapis.com",
   "metadata":{"service":"generativelanguage.googleapis.com","quota_location":"global","quota_limit":"GenerateRequestsPerDayPerProjectPerModel","quota_metric":"generativelanguage.googleapis.com/generate_requests_per_model_per_day","quota_limit_value":"250","model":` + string(m) + `}},
  {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"3s"}]}}`
}

// writeStatus answers a google.rpc.Status error without details.
func writeStatus(w http.ResponseWriter, code int, status, message string) {
	body, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "message": message, "status": status}})
	writeRaw(w, code, string(body))
}

// writeInvalid answers 400 INVALID_ARGUMENT, the real API's answer to a body
// it cannot accept.
func writeInvalid(w http.ResponseWriter, format string, args ...any) {
	writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf(format, args...))
}

func writeNotFoundModel(w http.ResponseWriter, model, method string) {
	writeStatus(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf(
		"models/%s is not found for API version v1beta, or is not supported for %s. "+
			"Call ListModels to see the list of available models and their supported methods.", model, method))
}

func writeRaw(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeStatus(w, http.StatusInternalServerError, "INTERNAL", "fake: encode answer: "+err.Error())
		return
	}
	writeRaw(w, http.StatusOK, string(body))
}
