package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tryonhq/tryon/pkg/config"
	"github.com/tryonhq/tryon/pkg/inputimage"
	"github.com/tryonhq/tryon/pkg/postgres"
)

// hostileRSSTarget is the peak resident memory `tryon serve` may reach under
// the hostile load, in MB (issue 10, item 1).
const hostileRSSTarget = 150

// hostileKind is one kind of hostile POST /generate and the status it must
// get.
type hostileKind struct {
	name   string
	body   []byte
	status int
}

// benchHostile runs `tryon bench hostile`: a real `tryon serve` process (this
// executable, or -server) on a throwaway PostgreSQL at production
// durability, sent concurrent POST /generate requests with a test key whose
// data: images are decompression bombs, ~830 KB photos of 6000×4000 that
// must be decoded to be checked, and the same photos truncated. It reports
// each kind's answers and the server's peak resident memory (VmHWM from
// /proc), which must stay under hostileRSSTarget.
func benchHostile(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("bench hostile", flag.ContinueOnError)
	clients := fs.Int("clients", 16, "concurrent clients")
	rounds := fs.Int("rounds", 3, "requests of each kind per client")
	side := fs.Int("photo-width", 6000, "width of the large photos (height is two thirds of it)")
	server := fs.String("server", "", "tryon executable to run as the server (default: this one)")
	memLimit := fs.String("memlimit", "", "GOMEMLIMIT for the server, e.g. 110MiB (default: unset, so the server sets its own default soft limit)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageError{"bench hostile takes no positional arguments"}
	case *clients < 1 || *clients > 64:
		return usageError{"-clients must be between 1 and 64"}
	case *rounds < 1:
		return usageError{"-rounds must be at least 1"}
	case *side < 64 || *side > 6000:
		return usageError{"-photo-width must be between 64 and 6000 (6000×4000 is under the 25-megapixel cap)"}
	}
	exe := *server
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("find this executable: %w", err)
		}
	}

	// What production runs: every commit flushed to disk.
	dbURL, where, stop, err := benchDatabase(ctx, e, productionDurability...)
	if err != nil {
		return err
	}
	defer stop()
	key, err := hostileTenant(ctx, dbURL)
	if err != nil {
		return err
	}

	fmt.Fprintln(e.stderr, "making the hostile images…")
	kinds := hostileKinds(*side)

	srv, err := startServer(ctx, exe, dbURL, *memLimit, e.stderr)
	if err != nil {
		return err
	}
	defer srv.stop()
	idle, err := vmHWM(srv.pid())
	if err != nil {
		return err
	}

	fmt.Fprintf(e.stderr, "%d clients × %d rounds of %d kinds…\n", *clients, *rounds, len(kinds))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients, DisableCompression: true}}
	results := make([][]hostileSample, len(kinds))
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for c := range *clients {
		wg.Go(func() {
			for r := range *rounds {
				for i := range kinds {
					// Clients start at different kinds, so every kind is
					// in flight at once.
					k := (i + c + r) % len(kinds)
					s := sendHostile(ctx, client, srv.base, key, kinds[k])
					mu.Lock()
					results[k] = append(results[k], s)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	peak, err := vmHWM(srv.pid())
	if err != nil {
		return err
	}
	var version string
	if err := pgVersion(ctx, dbURL, &version); err != nil {
		return err
	}

	rep := hostileReport{
		command: commandLine(append([]string{"tryon", "bench", "hostile"}, args...)),
		setup: fmt.Sprintf("%s %s/%s, %d CPUs; `tryon serve` as its own process (fake provider for the test key, "+
			"GOMEMLIMIT %s) on PostgreSQL %s (%s, fsync and synchronous_commit on); %d clients on loopback, "+
			"%d requests of each kind per client, %s in all.",
			runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
			cmp.Or(*memLimit, fmt.Sprintf("unset: the server's default soft limit, %d MiB", config.DefaultMemoryLimit>>20)), version, where,
			*clients, *rounds, elapsed.Round(time.Second)),
		kinds: kinds, results: results, idleKB: idle, peakKB: peak,
	}
	rep.write(e.stdout)
	return rep.failed()
}

// hostileKinds builds the request bodies. The photos are real JPEGs that
// decode fully, so the server must spend its decode budget on them; the
// truncated ones make the decoder allocate the whole picture before it
// finds the end missing.
func hostileKinds(width int) []hostileKind {
	height := width * 2 / 3
	bomb := inputimage.HeaderBombPNG(6324, 6324)
	person := inputimage.LargePhotoJPEG(width, height, 75, 1)
	garment := inputimage.LargePhotoJPEG(width, height, 75, 2)
	body := func(mediaType string, a, b []byte) []byte {
		return fmt.Appendf(nil, `{"prompt":"the garment on the person","width":256,"height":256,`+
			`"person_image":"data:%s;base64,%s","garment_image":"data:%s;base64,%s"}`,
			mediaType, base64.StdEncoding.EncodeToString(a), mediaType, base64.StdEncoding.EncodeToString(b))
	}
	return []hostileKind{
		{name: fmt.Sprintf("PNG header bombs, 6324×6324 16-bit RGBA (%d B each)", len(bomb)),
			body: body("image/png", bomb, bomb), status: 400},
		{name: fmt.Sprintf("JPEG photos, %d×%d (%d KB each)", width, height, len(person)>>10),
			body: body("image/jpeg", person, garment), status: 200},
		{name: fmt.Sprintf("the same photos truncated to half (%d KB each)", len(person)>>11),
			body: body("image/jpeg", person[:len(person)/2], garment[:len(garment)/2]), status: 400},
	}
}

// hostileTenant creates a tenant whose limits never refuse the benchmark's
// requests and returns its test key.
func hostileTenant(ctx context.Context, dbURL string) (string, error) {
	pool, err := postgres.OpenPool(dbURL, postgres.PoolOptions{MaxConns: 1})
	if err != nil {
		return "", err
	}
	s := postgres.NewStore(pool)
	defer s.Close()
	k, err := benchTenants(ctx, s, 0)
	if err != nil {
		return "", err
	}
	return k.postpaidTest, nil
}

type hostileSample struct {
	status  int
	latency time.Duration
	failure string
}

func sendHostile(ctx context.Context, c *http.Client, base, key string, k hostileKind) hostileSample {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/generate", bytes.NewReader(k.body))
	if err != nil {
		return hostileSample{failure: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Client-Key", key)
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return hostileSample{failure: err.Error()}
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	s := hostileSample{status: resp.StatusCode, latency: time.Since(start)}
	switch {
	case err != nil:
		s.failure = "read the answer: " + err.Error()
	case resp.StatusCode != k.status:
		s.failure = fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(body[:min(len(body), 300)]))
	}
	return s
}

// serverProcess is a `tryon serve` started for a benchmark.
type serverProcess struct {
	cmd  *exec.Cmd
	base string
	done chan struct{}
}

// startServer runs exe serve on a free loopback port with a fixed
// configuration (nothing from this shell's environment: no provider key can
// be spent) and waits until it answers GET /health.
func startServer(ctx context.Context, exe, dbURL, memLimit string, stderr io.Writer) (*serverProcess, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(exe, "serve", "-addr", addr)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"DATABASE_URL=" + dbURL, "DB_MAX_CONNS=4", "LOG_LEVEL=warn", "STORAGE=postgres",
		"PROVIDER_BANANA=fake", "PROVIDER_BANANA_PRO=fake", "PROVIDER_VEO3=fake", "FAKE_LATENCY=0s",
		// GODEBUG passes through, so gctrace=1 can show the server's heap.
		"GODEBUG=" + os.Getenv("GODEBUG"),
	}
	if memLimit != "" {
		cmd.Env = append(cmd.Env, "GOMEMLIMIT="+memLimit)
	}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", exe, err)
	}
	p := &serverProcess{cmd: cmd, base: "http://" + addr, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s serve exited: %v", exe, cmd.ProcessState)
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		resp, err := http.Get(p.base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
	}
}

func (p *serverProcess) pid() int { return p.cmd.Process.Pid }

// stop asks the server to shut down and waits for it.
func (p *serverProcess) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// vmHWM reads a process's peak resident set size, in kB, from Linux's
// /proc/<pid>/status.
func vmHWM(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("read the server's memory (Linux only): %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, errors.New("no VmHWM in /proc/<pid>/status")
}

func pgVersion(ctx context.Context, dbURL string, version *string) error {
	pool, err := postgres.OpenPool(dbURL, postgres.PoolOptions{MaxConns: 1})
	if err != nil {
		return err
	}
	s := postgres.NewStore(pool)
	defer s.Close()
	return s.Pool().QueryRow(ctx, "SHOW server_version").Scan(version)
}

// hostileReport is what `tryon bench hostile` prints.
type hostileReport struct {
	command, setup string
	kinds          []hostileKind
	results        [][]hostileSample
	idleKB, peakKB int64
}

func (rep hostileReport) write(w io.Writer) {
	fmt.Fprintf(w, "```\n$ %s\n```\n\n%s\n\n", rep.command, rep.setup)
	fmt.Fprintln(w, "| Request | Requests | Expected | Answered as expected | p50 | p99 |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|")
	for i, k := range rep.kinds {
		var ok int
		var lat []time.Duration
		for _, s := range rep.results[i] {
			if s.failure == "" {
				ok++
			}
			lat = append(lat, s.latency)
		}
		slices.Sort(lat)
		p50, p99 := time.Duration(0), time.Duration(0)
		if len(lat) > 0 {
			p50, p99 = percentile(lat, 50), percentile(lat, 99)
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %s | %s |\n", k.name, len(rep.results[i]), k.status, ok, ms(p50), ms(p99))
	}
	verdict := "under"
	if rep.peakKB > hostileRSSTarget<<10 {
		verdict = "OVER"
	}
	fmt.Fprintf(w, "\nServer peak RSS (VmHWM): %.1f MB after start-up, %.1f MB after the load: %s the %d MB target.\n",
		float64(rep.idleKB)/1024, float64(rep.peakKB)/1024, verdict, hostileRSSTarget)
}

// failed is the error of a run in which a request was not answered as
// expected or the peak memory passed the target.
func (rep hostileReport) failed() error {
	var errs []error
	for i, k := range rep.kinds {
		for _, s := range rep.results[i] {
			if s.failure != "" {
				errs = append(errs, fmt.Errorf("%s: want %d, got %s", k.name, k.status, s.failure))
				break
			}
		}
	}
	if rep.peakKB > hostileRSSTarget<<10 {
		errs = append(errs, fmt.Errorf("peak RSS %d MB is over the %d MB target", rep.peakKB>>10, hostileRSSTarget))
	}
	return errors.Join(errs...)
}
