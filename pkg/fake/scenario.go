package fake

import (
	"strconv"
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// maxSleep bounds [fake:sleep=...] so a typo cannot hang a test run or hold a
// serverless instance past any function time limit we deploy with.
const maxSleep = 10 * time.Minute

// scenario is what the [fake:...] tokens of a prompt ask for.
type scenario struct {
	fail  tryon.FailureKind // the first failure token, or ""
	token string            // that token as written, for the error's Detail
	sleep time.Duration     // extra latency, summed over sleep tokens
	// capped says a [fake:outputs=K] token caps how many of the outputs
	// asked for are made, at outputs (the smallest K given): a partial
	// success, or none at all (K = 0).
	capped  bool
	outputs int
	// prompt is the prompt without the tokens it understood, so that choosing
	// a scenario or a latency does not change the picture.
	prompt string
}

// scenarioFailures maps the failure tokens to the failure they cause.
var scenarioFailures = map[string]tryon.FailureKind{
	"blocked":     tryon.FailContentBlocked,
	"unavailable": tryon.FailUnavailable,
	"error":       tryon.FailBadResponse,
	"no_output":   tryon.FailNoOutput,
}

// parseScenario reads the [fake:...] tokens of a prompt. Tokens it does not
// understand stay in the prompt as ordinary text: a prompt is the tenant's
// content, and a fake provider that refused odd text would behave unlike the
// real ones.
func parseScenario(prompt string) scenario {
	var sc scenario
	var kept strings.Builder
	rest := prompt
	for {
		i := strings.Index(rest, "[fake:")
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], ']')
		if j < 0 {
			break
		}
		token := rest[i : i+j+1]
		body := token[len("[fake:") : len(token)-1]
		kept.WriteString(rest[:i])
		rest = rest[i+j+1:]
		if kind, ok := scenarioFailures[body]; ok {
			if sc.fail == "" {
				sc.fail, sc.token = kind, token
			}
			continue
		}
		if v, ok := strings.CutPrefix(body, "outputs="); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				if !sc.capped || n < sc.outputs {
					sc.capped, sc.outputs = true, n
				}
				continue
			}
		}
		if v, ok := strings.CutPrefix(body, "sleep="); ok {
			if d, err := time.ParseDuration(v); err == nil {
				// Clamp before adding: a huge duration would overflow the sum.
				sc.sleep = min(sc.sleep+min(max(d, 0), maxSleep), maxSleep)
				continue
			}
		}
		kept.WriteString(token)
	}
	kept.WriteString(rest)
	sc.prompt = strings.Join(strings.Fields(kept.String()), " ")
	return sc
}
