// Package pgcluster starts a throwaway PostgreSQL server from the machine's
// own PostgreSQL binaries, for `tryon dev` and for tests. Nothing is installed
// or downloaded: the server lives in a temporary folder on a free port and is
// removed by Stop.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// InstallHint says how to get the PostgreSQL server binaries on common systems.
const InstallHint = `PostgreSQL's server binaries (initdb, postgres) were not found on PATH or under /usr/lib/postgresql/*/bin.
Install the server package, then run the command again:
  Debian/Ubuntu:  sudo apt-get install postgresql
  Fedora/RHEL:    sudo dnf install postgresql-server
  Arch:           sudo pacman -S postgresql
  macOS:          brew install postgresql@16
  Windows:        use WSL2 with the Debian/Ubuntu package
Or point TEST_DATABASE_URL (tests) or DATABASE_URL (tryon serve) at an existing server.`

// ErrNoPostgres means the PostgreSQL server binaries could not be found.
var ErrNoPostgres = errors.New(InstallHint)

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	// URL connects as the superuser to the "postgres" database.
	URL   string
	Port  int
	dir   string
	bin   string
	args  []string
	owner *account
	cmd   *exec.Cmd
	done  chan struct{}
	log   *bytes.Buffer
}

// Options tune Start; the zero value is fine.
type Options struct {
	// MaxConnections is the server's max_connections (default 200: concurrency
	// tests open many).
	MaxConnections int
	// Settings are extra "name=value" server settings.
	Settings []string
}

// FindBinaries returns the folder holding initdb and postgres: PATH first,
// then the newest /usr/lib/postgresql/<version>/bin (Debian and Ubuntu keep
// them off PATH).
func FindBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoPostgres
}

func versionOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

// Start initialises a new cluster in a temporary folder and starts it on a
// free loopback port. It is fast on repeated runs because the initdb result
// is cached per PostgreSQL version and copied.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	owner, err := serverUser()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tryon-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	c := &Cluster{dir: dir, bin: bin, owner: owner, log: &bytes.Buffer{}}
	if err := c.start(ctx, bin, owner, opts); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, bin string, owner *account, opts Options) error {
	data := filepath.Join(c.dir, "data")
	if err := initData(ctx, bin, owner, data); err != nil {
		return err
	}
	if err := owner.chownAll(c.dir); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	c.Port = port
	maxConns := opts.MaxConnections
	if maxConns == 0 {
		maxConns = 200
	}
	// Durability is pointless for a throwaway server; turning it off makes
	// tests several times faster.
	settings := []string{
		"listen_addresses=127.0.0.1",
		"port=" + strconv.Itoa(port),
		"unix_socket_directories=" + c.dir,
		"max_connections=" + strconv.Itoa(maxConns),
		"fsync=off", "synchronous_commit=off", "full_page_writes=off",
		"shared_buffers=128MB", "max_wal_size=2GB",
		"log_min_messages=warning", "logging_collector=off",
	}
	settings = append(settings, opts.Settings...)
	c.args = []string{"-D", data}
	for _, s := range settings {
		c.args = append(c.args, "-c", s)
	}
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c.launch(ctx)
}

// launch runs the server process and waits until it accepts connections.
func (c *Cluster) launch(ctx context.Context) error {
	// A previous run's pid file would read "ready" before this run is; the
	// process that wrote it is known to be gone.
	_ = os.Remove(filepath.Join(c.dir, "data", "postmaster.pid"))
	cmd := exec.Command(filepath.Join(c.bin, "postgres"), c.args...)
	cmd.Stdout, cmd.Stderr = c.log, c.log
	cmd.SysProcAttr = c.owner.procAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgcluster: start postgres: %w", err)
	}
	c.cmd, c.done = cmd, make(chan struct{})
	done := c.done
	go func() { _ = cmd.Wait(); close(done) }()
	return c.waitReady(ctx)
}

// Crash stops the server the way a crash or a failover does: at once, every
// connection cut, nothing flushed. Restart brings it back.
func (c *Cluster) Crash() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	// SIGQUIT is PostgreSQL's immediate shutdown: no checkpoint to wait for.
	_ = c.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	c.cmd = nil
}

// Restart starts a crashed server again, on the same port and data, and
// waits until it accepts connections (after its crash recovery).
func (c *Cluster) Restart(ctx context.Context) error {
	c.Crash()
	return c.launch(ctx)
}

// waitReady waits until the server accepts connections, which PostgreSQL
// announces with "ready" in the status line of postmaster.pid.
func (c *Cluster) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	pidFile := filepath.Join(c.dir, "data", "postmaster.pid")
	for {
		if b, err := os.ReadFile(pidFile); err == nil {
			lines := strings.Split(string(b), "\n")
			if len(lines) >= 8 && strings.TrimSpace(lines[7]) == "ready" {
				return nil
			}
		}
		select {
		case <-c.done:
			return fmt.Errorf("pgcluster: postgres exited during start-up:\n%s", c.log.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgcluster: postgres did not start within 30s:\n%s", c.log.String())
		}
	}
}

// Stop shuts the server down at once and removes its folder.
func (c *Cluster) Stop() {
	c.Crash()
	if c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
}

// initData fills dir with an initialised data folder, copying a cached one
// when the same PostgreSQL version was initialised before.
func initData(ctx context.Context, bin string, owner *account, dir string) error {
	cache, err := templateDir(ctx, bin, owner)
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, "cp", "-a", cache, dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgcluster: copy template: %v: %s", err, out)
	}
	return nil
}

// templateDir returns a cached, freshly initialised data folder for the
// PostgreSQL in bin, creating it once. Concurrent test binaries may race to
// create it; each builds its own and the first rename wins.
func templateDir(ctx context.Context, bin string, owner *account) (string, error) {
	version, err := exec.CommandContext(ctx, filepath.Join(bin, "postgres"), "--version").Output()
	if err != nil {
		return "", fmt.Errorf("pgcluster: postgres --version: %w", err)
	}
	tag := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r == '.' {
			return r
		}
		return -1
	}, string(version))
	base := filepath.Join(os.TempDir(), "tryon-pg-template")
	final := filepath.Join(base, tag+"-"+runtime.GOARCH)
	if _, err := os.Stat(filepath.Join(final, "PG_VERSION")); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("pgcluster: %w", err)
	}
	tmp, err := os.MkdirTemp(base, "init-")
	if err != nil {
		return "", fmt.Errorf("pgcluster: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := owner.chownAll(tmp); err != nil {
		return "", err
	}
	data := filepath.Join(tmp, "data")
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	cmd.SysProcAttr = owner.procAttr()
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("pgcluster: initdb: %v\n%s", err, out)
	}
	if err := os.Rename(data, final); err != nil {
		if _, statErr := os.Stat(filepath.Join(final, "PG_VERSION")); statErr == nil {
			return final, nil // another process won the race
		}
		return "", fmt.Errorf("pgcluster: %w", err)
	}
	return final, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// account is the operating-system user that runs the server: the current
// user, or "postgres" when running as root (initdb and postgres refuse root).
type account struct {
	uid, gid uint32
	asRoot   bool
}

func serverUser() (*account, error) {
	if os.Geteuid() != 0 {
		return &account{}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: running as root needs a 'postgres' user to run the server as (the PostgreSQL package creates it): %w", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &account{uid: uint32(uid), gid: uint32(gid), asRoot: true}, nil
}

func (a *account) procAttr() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(attr)
	if a.asRoot {
		attr.Credential = &syscall.Credential{Uid: a.uid, Gid: a.gid}
	}
	return attr
}

func (a *account) chownAll(dir string) error {
	if !a.asRoot {
		return nil
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(a.uid), int(a.gid))
	})
}
