package generation_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/gemini/geminifake"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestProviderFaultsUnderLoad sends concurrent live requests whose provider
// answers fail every way it can (429, 500, 503, hangs, malformed bodies,
// blocks, no image, flaky): no answer is 500, each generation ends, only
// the successes are charged, once, and the books reconcile.
func TestProviderFaultsUnderLoad(t *testing.T) {
	const n = 90
	env, _ := geminiEnvWith(t, apptest.Options{Settings: map[string]string{"BUDGET_MARGIN": "2s"},
		MaxDurations: map[string]time.Duration{"generate": 8 * time.Second}})
	balance := tryon.Micros(1_000_000_000)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance, MaxConcurrent: n, RequestsPerMinute: 100 * n})
	initial := int64(balance)
	faults := []string{"", geminifake.Token429, geminifake.Token500, geminifake.Token503, geminifake.TokenHang,
		geminifake.TokenMalformed, geminifake.TokenBlock, geminifake.TokenNoImage, geminifake.TokenFlaky}
	answers := make([]*apptest.Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = env.Generate(shop.LiveKey, map[string]any{"prompt": fmt.Sprintf("coat %d %s", i, faults[i%len(faults)])})
		}()
	}
	wg.Wait()
	succeeded := 0
	byStatus := map[int]int{}
	for i, a := range answers {
		byStatus[a.Status]++
		switch {
		case a.Status == 200:
			succeeded++
		case a.Status >= 500 && a.Status != 502 && a.Status != 503 && a.Status != 504:
			t.Errorf("request %d (%q): %d %s", i, faults[i%len(faults)], a.Status, a.Body)
		case a.Status == 503 && a.Code == tryon.CodeUnavailable:
			t.Errorf("request %d (%q): the database was reported down: %s", i, faults[i%len(faults)], a.Body)
		}
	}
	t.Logf("answers: %v", byStatus)
	if succeeded == 0 || succeeded == n {
		t.Errorf("%d of %d succeeded: the faults were not all taken", succeeded, n)
	}
	l := reconcile(t, env, shop.Client.ID, &initial)
	if want := int64(succeeded) * 40_000; l.charged != want {
		t.Errorf("charged %d for %d successes, want %d", l.charged, succeeded, want)
	}
	var recorded int
	if err := env.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM generations WHERE client_id = $1`, shop.Client.ID).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if recorded != n {
		t.Errorf("%d generations recorded for %d requests", recorded, n)
	}
}
