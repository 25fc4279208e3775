package fake

import (
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

func TestParseScenario(t *testing.T) {
	for _, c := range []struct {
		prompt string
		want   scenario
	}{
		{"a red dress", scenario{prompt: "a red dress"}},
		{"a red dress [fake:blocked]", scenario{fail: tryon.FailContentBlocked, token: "[fake:blocked]", prompt: "a red dress"}},
		{"[fake:unavailable] x", scenario{fail: tryon.FailUnavailable, token: "[fake:unavailable]", prompt: "x"}},
		{"x [fake:error]", scenario{fail: tryon.FailBadResponse, token: "[fake:error]", prompt: "x"}},
		{"x [fake:no_output]", scenario{fail: tryon.FailNoOutput, token: "[fake:no_output]", prompt: "x"}},
		{"[fake:sleep=750ms]a dress", scenario{sleep: 750 * time.Millisecond, prompt: "a dress"}},
		{"[fake:sleep=1s] [fake:sleep=500ms]", scenario{sleep: 1500 * time.Millisecond}},
		{"[fake:sleep=2h]", scenario{sleep: maxSleep}},
		{"[fake:sleep=2000000h][fake:sleep=2000000h]", scenario{sleep: maxSleep}},
		{"[fake:sleep=-5s]", scenario{}},
		{"first wins [fake:error] [fake:blocked]", scenario{fail: tryon.FailBadResponse, token: "[fake:error]", prompt: "first wins"}},
		{"both [fake:sleep=1s][fake:blocked]", scenario{fail: tryon.FailContentBlocked, token: "[fake:blocked]", sleep: time.Second, prompt: "both"}},
		// Tokens the fake does not know stay in the prompt as text.
		{"[fake:sleep=soon] [fake:other] [fake:blocked", scenario{prompt: "[fake:sleep=soon] [fake:other] [fake:blocked"}},
		{"[FAKE:BLOCKED]", scenario{prompt: "[FAKE:BLOCKED]"}},
		{"hats [fake:outputs=2]", scenario{capped: true, outputs: 2, prompt: "hats"}},
		{"[fake:outputs=3] hats [fake:outputs=0]", scenario{capped: true, outputs: 0, prompt: "hats"}},
		{"[fake:outputs=-1] [fake:outputs=x]", scenario{prompt: "[fake:outputs=-1] [fake:outputs=x]"}},
	} {
		if got := parseScenario(c.prompt); got != c.want {
			t.Errorf("parseScenario(%q) = %+v, want %+v", c.prompt, got, c.want)
		}
	}
}

func TestLabelText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a red summer dress, studio light", "A RED SUMMER DRESS, "},
		{"Été ☀ 100%", "?T? ? 100%"},
		{"", ""},
	} {
		if got := labelText(c.in, labelLen); got != c.want {
			t.Errorf("labelText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzParseScenario(f *testing.F) {
	for _, s := range []string{"a [fake:blocked]", "[fake:sleep=750ms]", "[fake:[fake:error]]", "[fake:sleep=1e9h]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, prompt string) {
		sc := parseScenario(prompt)
		if sc.sleep < 0 || sc.sleep > maxSleep {
			t.Errorf("sleep %v out of range", sc.sleep)
		}
		if sc.fail != "" && scenarioFailures[sc.token[len("[fake:"):len(sc.token)-1]] != sc.fail {
			t.Errorf("failure %s from token %q", sc.fail, sc.token)
		}
		// Taking the tokens out is done once and for all.
		if again := parseScenario(sc.prompt); again.prompt != sc.prompt {
			t.Errorf("prompt %q parses again to %q", sc.prompt, again.prompt)
		}
	})
}
