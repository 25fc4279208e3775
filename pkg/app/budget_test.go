package app

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/config"
	"github.com/tryonhq/tryon/pkg/httpapi"
)

func testConfig(t *testing.T, settings map[string]string) *config.Config {
	t.Helper()
	m := map[string]string{"DATABASE_URL": "postgres://localhost:1/x", "PROVIDER_BANANA": "fake",
		"PROVIDER_BANANA_PRO": "fake", "PROVIDER_VEO3": "fake"}
	for k, v := range settings {
		m[k] = v
	}
	cfg, err := config.Load(config.Map(m))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestBudgetsComeFromTheRouteTable: every function's budget, the
// generate function's included, is its maxDuration in the route table.
func TestBudgetsComeFromTheRouteTable(t *testing.T) {
	a, err := New(testConfig(t, nil), Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for fn, got := range map[string]time.Duration{"generate": a.Runner.Settings.MaxDuration,
		"generation": a.Runner.Settings.ReadMaxDuration, "cron": a.Runner.Settings.SweepMaxDuration} {
		rt, _ := httpapi.RouteByFunction(fn)
		if want := time.Duration(rt.MaxDuration) * time.Second; got != want {
			t.Errorf("%s: budget %s, maxDuration %s", fn, got, want)
		}
	}
}

func TestAMarginOverHalfABudgetIsRefused(t *testing.T) {
	_, err := New(testConfig(t, map[string]string{"BUDGET_MARGIN": "45s"}), Options{Log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "BUDGET_MARGIN") {
		t.Fatalf("got %v, want an error naming BUDGET_MARGIN", err)
	}
}
