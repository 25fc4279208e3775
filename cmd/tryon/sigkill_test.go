package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestSIGKILLWithGenerationsInFlight kills a `tryon serve` process with
// SIGKILL while four live generations wait on their provider, then starts
// another instance on the same database: it releases the killed ones at
// their deadline (its sweep), uncharged, their slots and reservations back.
func TestSIGKILLWithGenerationsInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	bin := filepath.Join(t.TempDir(), "tryon")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	pool, err := postgres.OpenPool(dbURL, postgres.PoolOptions{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	store := postgres.NewStore(pool)
	defer store.Close()
	balance := tryon.Micros(10_000_000)
	client, err := store.CreateClient(ctx, postgres.NewClient{Name: "killed-shop", BalanceMicros: &balance, MaxConcurrent: 4, RequestsPerMinute: 1000})
	if err != nil {
		t.Fatal(err)
	}
	key, err := createKey(ctx, store, &client.ID, tryon.KeyLive, "sigkill", nil)
	if err != nil {
		t.Fatal(err)
	}

	serve := func() (*exec.Cmd, string) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		cmd := exec.Command(bin, "serve", "-addr", addr)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "PROVIDER_BANANA=fake", "PROVIDER_BANANA_PRO=fake",
			"PROVIDER_VEO3=fake", "FAKE_LATENCY=30s", "BUDGET_MARGIN=2s", "LOG_LEVEL=error")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		base := "http://" + addr
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if r, err := http.Get(base + "/health"); err == nil {
				r.Body.Close()
				if r.StatusCode == 200 {
					return cmd, base
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("tryon serve did not start")
			}
		}
	}
	post := func(base string, i int) (int, error) {
		req, _ := http.NewRequest(http.MethodPost, base+"/generate", strings.NewReader(fmt.Sprintf(`{"prompt":"coat %d","width":256,"height":256}`, i)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Client-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	count := func(status string) int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM generations WHERE client_id = $1 AND status = $2`, client.ID, status).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	first, base := serve()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := post(base, i); err == nil {
				t.Errorf("request %d was answered by a killed server", i)
			}
		}()
	}
	for deadline := time.Now().Add(30 * time.Second); count("processing") < 4; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the generations never started")
		}
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	// Time passes: the generations' deadlines (the generate function's
	// maxDuration from the route table, minutes away) are moved into the past
	// rather than waited for. The second instance's sweep (every 10 s) then
	// releases them, uncharged.
	if _, err := pool.Exec(ctx, `UPDATE generations SET deadline = now() - interval '1 second'
		WHERE client_id = $1 AND status = 'processing'`, client.ID); err != nil {
		t.Fatal(err)
	}
	serve()
	for deadline := time.Now().Add(40 * time.Second); count("processing") > 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d generations still processing 40 s after the kill", count("processing"))
		}
	}
	var charged, usage, reserved int64
	var left int64
	if err := pool.QueryRow(ctx, `SELECT (SELECT coalesce(sum(cost_micros), 0) FROM generations WHERE client_id = c.id),
		(SELECT coalesce(sum(amount_micros), 0) FROM usage_records WHERE client_id = c.id), f.reserved_micros, c.balance_micros - tryon_unsettled(c.id)
		FROM clients c, tryon_in_flight(c.id) f WHERE c.id = $1`, client.ID).Scan(&charged, &usage, &reserved, &left); err != nil {
		t.Fatal(err)
	}
	if charged != 0 || usage != 0 || reserved != 0 || left != int64(balance) || count("failed") != 4 {
		t.Errorf("after the kill: charged %d, usage %d, reserved %d, balance %d, %d failed", charged, usage, reserved, left, count("failed"))
	}
}
