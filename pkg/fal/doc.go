// Package fal calls Nano Banana models hosted on fal.ai through its synchronous
// fal.run endpoint.
//
// One call is POST {BaseURL}/{endpoint id} with "Authorization: Key <key>" and a
// JSON body; the answer is the model's output directly (no queue, no polling):
// {"images": [{"url", "content_type", "file_name", "file_size", "width",
// "height"}], "description": "..."}. The image URL is short-lived (or a data:
// URI), so Generate downloads it at once through the configured tryon.Fetcher,
// the same SSRF guard that loads tenant inputs, and trusts only the bytes it
// gets back for the type and size it reports.
//
// Failures come back in two shapes, both under "detail": a string
// ({"detail": "No user found for Key ID and Secret"}, and the platform's own
// {"detail": "Request timed out", "error_type": "request_timeout"}), or a list
// of typed errors ({"detail": [{"loc": ["body", "prompt"], "msg": "...",
// "type": "content_policy_violation", "url": "..."}]}). Classification keys on
// the HTTP status first and on the "type" field second, never on the wording
// alone, except to spot a content-policy refusal from a model that has not yet
// moved to typed errors.
//
// Sources this package relies on (stored copies read while writing it):
//
//   - Synchronous requests, endpoint shape https://fal.run/{model_id}[/{subpath}],
//     the "Authorization: Key $FAL_KEY" header and the response shape:
//     https://docs.fal.ai/model-apis/model-endpoints/synchronous-requests
//   - Nano Banana edit input (prompt, image_urls, num_images 1–4, seed,
//     aspect_ratio auto|21:9|16:9|3:2|4:3|5:4|1:1|4:5|3:4|2:3|9:16,
//     output_format jpeg|png|webp) and endpoint https://fal.run/fal-ai/nano-banana/edit:
//     https://fal.ai/models/fal-ai/nano-banana/edit/llms.txt
//   - Nano Banana Pro edit, same fields, endpoint https://fal.run/fal-ai/nano-banana-pro/edit:
//     https://fal.ai/models/fal-ai/nano-banana-pro/edit/llms.txt, and the
//     text-to-image variants https://fal.ai/models/fal-ai/nano-banana-pro/llms.txt
//     and https://fal.ai/docs/model-api-reference/image-generation-api/nano-banana.md
//     (POST https://fal.run/fal-ai/nano-banana).
//   - Data URIs are accepted wherever a file URL is (fal_client "Encoding files
//     as in-memory data URLs"): https://pypi.org/p/fal_client
//   - Typed model errors (detail list of loc/msg/type/url/ctx, the optional
//     X-Fal-Retryable header): https://docs.fal.ai/errors and
//     https://fal.ai/docs/model-apis/errors
//   - X-Fal-Needs-Retry ("1" retry, "0" do not, whatever the status says;
//     fal's 429 concurrency limit carries "1"): fal's serverless
//     "Retries and error handling" page
//   - Request-level errors ({"detail": string, "error_type"}, X-Fal-Error-Type,
//     503/504 for runner and timeout failures): https://fal.ai/docs/documentation/model-apis/request-errors
//   - Synchronous calls are never retried by fal and 5xx answers are not billed:
//     https://docs.fal.ai/model-apis/model-endpoints/reliability
//   - content_policy_violation arrives as HTTP 422 with type
//     "content_policy_violation" (secondary, quoting fal's error reference):
//     https://wavespeed.ai/blog/ai-guides/fal-ai-content-policy-violation-422-fix/
//   - Real 401 and 403 bodies: {"detail": "No user found for Key ID and Secret"}
//     (github.com/fal-ai/fal/issues/1068, github.com/fal-ai/fal-swift/issues/8);
//     {"detail": "User is locked. Reason: Exhausted balance. Top up your balance
//     at fal.ai/dashboard/billing."} and "... Reason: Admin lock ..."
//     (github.com/fal-ai/fal/issues/1147, /1112, /1168).
//
// Nano Banana Pro's "resolution" (1K, 2K, 4K; fal's default 1K) is sent as
// the smallest tier that covers the requested size, the rule the Gemini
// provider applies to imageSize (gemini.SnapImage), so the two providers
// render the same sizes (and 4K costs what Google charges for 4K).
//
// Not confirmed from fal's own pages, so not relied on: the exact body of a
// 429, and whether the text-to-image endpoints accept "auto" as an aspect
// ratio (we never send it).
package fal
