package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// productionDurability are the server settings of a throwaway benchmark
// cluster: what a production database runs with (pgcluster turns them off
// for tests), so that every commit pays its WAL flush as it would there.
var productionDurability = []string{"fsync=on", "synchronous_commit=on", "full_page_writes=on"}

// pgCost is what PostgreSQL spent over a stretch of a benchmark, from the
// server's own counters: WAL (pg_stat_wal and the WAL position), commits
// (pg_stat_database) and the CPU time of the server's processes (/proc, when
// the server runs on this machine).
type pgCost struct {
	walBytes   int64
	walRecords int64
	walFPI     int64
	// walSyncs counts WAL flushes to disk (fdatasync): what a synchronous
	// commit waits for.
	walSyncs int64
	commits  int64
	// cpu is the server processes' CPU time; cpuKnown is false when they
	// are not on this machine.
	cpu      time.Duration
	cpuKnown bool
}

// pgProbe reads PostgreSQL's counters over its own connection, so the
// probe never queues behind the requests it measures.
type pgProbe struct {
	conn *pgx.Conn
}

func newPGProbe(ctx context.Context, url string) (*pgProbe, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("connect the PostgreSQL probe: %w", err)
	}
	return &pgProbe{conn: conn}, nil
}

func (p *pgProbe) close() { _ = p.conn.Close(context.Background()) }

// pgSnapshot is the counters at one moment.
type pgSnapshot struct {
	lsn                          string
	records, fpi, syncs, commits int64
	cpu                          map[int32]time.Duration
	cpuKnown                     bool
}

// statsSettle is how long a snapshot waits first: a backend publishes its
// WAL and transaction counters when it has been idle for about a second
// (PostgreSQL's PGSTAT_MIN_INTERVAL), so counters read sooner would miss
// the last requests' work or count it in the next stretch.
const statsSettle = 1500 * time.Millisecond

func (p *pgProbe) snapshot(ctx context.Context) (pgSnapshot, error) {
	if err := sleepCtx(ctx, statsSettle); err != nil {
		return pgSnapshot{}, err
	}
	var s pgSnapshot
	var pids []int32
	err := p.conn.QueryRow(ctx, `
		SELECT pg_current_wal_lsn()::text, w.wal_records, w.wal_fpi, w.wal_sync,
		       (SELECT sum(xact_commit)::bigint FROM pg_stat_database),
		       (SELECT array_agg(pid) FROM pg_stat_activity)
		FROM pg_stat_wal w`).Scan(&s.lsn, &s.records, &s.fpi, &s.syncs, &s.commits, &pids)
	if err != nil {
		return s, fmt.Errorf("read PostgreSQL's counters: %w", err)
	}
	s.cpu, s.cpuKnown = processCPU(pids)
	return s, nil
}

// since is the cost between an earlier snapshot and this one.
func (p *pgProbe) since(ctx context.Context, before, after pgSnapshot) (pgCost, error) {
	var bytes int64
	if err := p.conn.QueryRow(ctx, `SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::bigint`, after.lsn, before.lsn).Scan(&bytes); err != nil {
		return pgCost{}, fmt.Errorf("read the WAL written: %w", err)
	}
	c := pgCost{walBytes: bytes, walRecords: after.records - before.records, walFPI: after.fpi - before.fpi,
		walSyncs: after.syncs - before.syncs, commits: after.commits - before.commits,
		cpuKnown: before.cpuKnown && after.cpuKnown}
	if c.cpuKnown {
		// A process that started meanwhile (a new pool connection) counts
		// from zero; one that ended meanwhile is lost, which undercounts
		// by at most its last moments.
		for pid, t := range after.cpu {
			c.cpu += t - before.cpu[pid]
		}
	}
	return c, nil
}

// processCPU returns the CPU time of each of the server's processes, from
// /proc: false when any of them is not visible here (a remote server).
func processCPU(pids []int32) (map[int32]time.Duration, bool) {
	out := make(map[int32]time.Duration, len(pids))
	for _, pid := range pids {
		t, err := pidCPU(pid)
		if err != nil {
			return nil, false
		}
		out[pid] = t
	}
	return out, len(pids) > 0
}

// pidCPU reads a process's CPU time: /proc/<pid>/schedstat in nanoseconds
// when the kernel keeps it, else user and system ticks from /proc/<pid>/stat.
func pidCPU(pid int32) (time.Duration, error) {
	dir := "/proc/" + strconv.Itoa(int(pid))
	if comm, err := os.ReadFile(dir + "/comm"); err != nil || !bytes.HasPrefix(comm, []byte("postgres")) {
		return 0, fmt.Errorf("process %d is not a local PostgreSQL process", pid)
	}
	if b, err := os.ReadFile(dir + "/schedstat"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				return time.Duration(ns), nil
			}
		}
	}
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields count from
	// after its closing parenthesis, where field 3 (state) starts.
	rest := string(b[bytes.LastIndexByte(b, ')')+1:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad CPU times", pid)
	}
	// Linux reports these in USER_HZ, 100 per second on every platform Go
	// supports.
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// perRequest formats a counter divided over n requests.
func perRequest(v int64, n int, decimals int) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(v)/float64(n), 'f', decimals, 64)
}
