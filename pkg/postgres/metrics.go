package postgres

import (
	"cmp"
	"context"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/metrics"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// RecentLimit is how many of the newest generations a metrics read returns.
const RecentLimit = 10

// ReadMetrics counts the request against the key's rate limit and reads the
// metrics of one tenant (clientID) or, for uuid.Nil, of the whole platform,
// over the window: all in one round trip. Every figure comes from the
// rollups and the few generations still processing, never from a scan of a
// tenant's history, so its cost follows the window's length, not the number
// of generations. An unknown tenant is tryon.ErrNotFound, returned with the
// read so that the caller still has the rate state.
//
// The rate limit is the batch's last statement, not its first: a batch is
// one implicit transaction, and counting the request locks the key's
// rate_counters row until it commits. First, the lock would be held while
// the reads run, so that one key's metrics reads would run one at a time;
// last, it is held for no more than the commit. A refused read therefore
// still reads, and throws the result away.
func (s *Store) ReadMetrics(ctx context.Context, p *tryon.Principal, clientID uuid.UUID, w metrics.Window) (*tryon.Read[*metrics.Snapshot], error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	b := &pgx.Batch{}
	for _, st := range metricsStatements(p, clientID, w) {
		b.Queue(st.sql, st.args...)
	}
	res := s.pool.SendBatch(ctx, b)
	defer res.Close()

	snap, err := scanMetrics(res, clientID, w)
	if err != nil {
		return nil, translate(err, "read metrics")
	}
	r := &tryon.Read[*metrics.Snapshot]{Rate: tryon.RateState{Limit: p.RequestsPerMinute()}}
	if err := scanRate(res.QueryRow(), &r.Rate); err != nil {
		return nil, err
	}
	if err := r.Rate.Verdict(); err != nil {
		return r, err
	}
	if clientID != uuid.Nil && snap.Client == nil {
		return r, tryon.ErrNotFound
	}
	r.Value = snap
	return r, nil
}

// scanMetrics scans the reads of metricsStatements, all but the rate limit.
func scanMetrics(res pgx.BatchResults, clientID uuid.UUID, w metrics.Window) (*metrics.Snapshot, error) {
	snap := metrics.NewSnapshot(w)
	var err error
	if clientID == uuid.Nil {
		snap.Clients, err = scanClientList(res)
	} else {
		var reserved int64
		snap.Client, err = scanClient(res.QueryRow(), &reserved)
		if snap.Client != nil {
			snap.Client.ReservedMicros = tryon.Micros(reserved)
		}
	}
	if err != nil && err != pgx.ErrNoRows {
		return nil, err
	}
	if err := scanCounts(res, snap); err != nil {
		return nil, err
	}
	if err := scanLatency(res, snap); err != nil {
		return nil, err
	}
	rows, err := res.Query()
	if err != nil {
		return nil, err
	}
	snap.Recent, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*tryon.Generation, error) { return scanGeneration(row) })
	if err != nil {
		return nil, err
	}
	slices.SortFunc(snap.Clients, func(a, b metrics.ClientCounts) int {
		return cmp.Or(cmp.Compare(b.CostMicros, a.CostMicros), cmp.Compare(b.Generations, a.Generations),
			strings.Compare(a.Name, b.Name))
	})
	return snap, nil
}

// statement is one query of a batch.
type statement struct {
	name string
	sql  string
	args []any
}

// metricsStatements are the queries of one metrics read, in the order
// ReadMetrics scans them: the tenant (or every tenant), the counters, the
// latency histogram, the newest generations and, last, the rate limit.
func metricsStatements(p *tryon.Principal, clientID uuid.UUID, w metrics.Window) []statement {
	platform := clientID == uuid.Nil
	// The series needs the bucket's own rollups; the histogram reads the
	// daily ones whenever the window allows it, as they have 24 times fewer
	// rows.
	usage, latency := hourlyRollups, hourlyRollups
	if w.Bucket == metrics.Day {
		usage = dailyRollups
	}
	if w.DayAligned() {
		latency = dailyRollups
	}
	rate := statement{"rate limit", `SELECT ` + rateColumns + ` FROM tryon_hit_rate($1, $2)`, []any{p.Key.ID, p.RequestsPerMinute()}}
	if platform {
		return []statement{
			{"clients", `SELECT c.id, c.name, c.status FROM clients c`, nil},
			{"counts", countsSQL(usage, true), []any{w.From, w.To, w.From, w.To}},
			{"latency", latencySQL(latency, true), []any{w.From, w.To}},
			// UUIDv7 ids sort by creation time, so the primary key finds the
			// newest generations of all tenants without an index of its own.
			{"recent", `SELECT ` + generationColumns + ` FROM generations g
				WHERE g.id >= $1 AND g.id < $2 AND g.created_at >= $3 AND g.created_at < $4
				ORDER BY g.id DESC LIMIT ` + strconv.Itoa(RecentLimit),
				[]any{uuidAt(w.From), uuidAt(w.To), w.From, w.To}},
			rate,
		}
	}
	return []statement{
		{"client", clientWithReserved + ` WHERE c.id = $1`,
			[]any{clientID}},
		{"counts", countsSQL(usage, false), []any{w.From, w.To, w.From, w.To, clientID}},
		{"latency", latencySQL(latency, false), []any{w.From, w.To, clientID}},
		{"recent", `SELECT ` + generationColumns + ` FROM generations g
			WHERE g.client_id = $1 AND g.created_at >= $2 AND g.created_at < $3
			ORDER BY g.created_at DESC, g.id DESC LIMIT ` + strconv.Itoa(RecentLimit),
			[]any{clientID, w.From, w.To}},
		rate,
	}
}

// rollups names one granularity of the rollup tables.
type rollups struct {
	usage, latency, platformLatency string
	// column is the time column (hour or day), and bucketOf a generation's
	// value of it (g.created_at truncated the same way). A day stays a date:
	// turning every row's into a timestamp would cost the platform view more
	// than grouping by it does.
	column   string
	bucketOf string
	// inWindow restricts a row (alias u or l) to [$1, $2).
	inWindow string
}

var (
	hourlyRollups = rollups{usage: "usage_hourly", latency: "latency_hourly", platformLatency: "platform_latency_hourly",
		column: "hour", bucketOf: "date_trunc('hour', g.created_at, 'UTC')", inWindow: "%.hour >= $1 AND %.hour < $2"}
	dailyRollups = rollups{usage: "usage_daily", latency: "latency_daily", platformLatency: "platform_latency_daily",
		column: "day", bucketOf: "(g.created_at AT TIME ZONE 'UTC')::date", inWindow: "%.day >= $1::date AND %.day < $2::date"}
)

func (r rollups) window(alias string) string { return strings.ReplaceAll(r.inWindow, "%", alias) }

// The grouping sets of countsSQL, as GROUPING(start, service, client_id)
// numbers them: a bit is set for each column not grouped by.
const (
	groupedByMode    = 7
	groupedByStart   = 3
	groupedByService = 5
	groupedByClient  = 6
)

// countsSQL counts the window's generations per mode, and per mode and
// bucket, service and tenant (one tenant, unless for the platform).
// Finished generations come from the rollups, those still processing from
// the partial indexes on status = 'processing'. It is one statement, so one
// snapshot: a generation finishing meanwhile is counted once, either as
// processing or in the rollups, since tryon_finish changes both in one
// transaction. $1, $2 bound the rollups, $3, $4 the processing
// generations, and $5 is the tenant.
func countsSQL(r rollups, platform bool) string {
	tenantU, tenantG := "u.client_id = $5 AND ", "g.client_id = $5 AND "
	if platform {
		tenantU, tenantG = "", ""
	}
	return `WITH r AS (
		SELECT u.client_id, u.` + r.column + ` AS start, u.service, u.mode, u.generations, u.succeeded, u.failed,
		       0::bigint AS processing, u.cost_micros, u.latency_count, u.latency_sum_ms
		FROM ` + r.usage + ` u
		WHERE ` + tenantU + r.window("u") + `
		UNION ALL
		SELECT g.client_id, ` + r.bucketOf + `, g.service, g.mode, 1, 0, 0, 1, 0, 0, 0
		FROM generations g
		WHERE ` + tenantG + `g.status = 'processing' AND g.created_at >= $3 AND g.created_at < $4
	)
	SELECT GROUPING(r.start, r.service, r.client_id), r.mode, r.start, r.service, r.client_id,
	       sum(r.generations)::bigint, sum(r.succeeded)::bigint, sum(r.failed)::bigint, sum(r.processing)::bigint,
	       sum(r.cost_micros)::bigint, sum(r.latency_count)::bigint, sum(r.latency_sum_ms)::bigint
	FROM r
	GROUP BY GROUPING SETS ((r.mode), (r.mode, r.start), (r.mode, r.service), (r.mode, r.client_id))`
}

// latencySQL sums the latency histogram of the window per mode: the
// tenant's ($3), or the platform's. The mode list lets a tenant's read walk
// its primary key (client_id, mode, time, bucket) as two short ranges.
func latencySQL(r rollups, platform bool) string {
	if platform {
		return `SELECT l.mode, l.bucket, sum(l.count)::bigint FROM ` + r.platformLatency + ` l
			WHERE ` + r.window("l") + `
			GROUP BY l.mode, l.bucket`
	}
	return `SELECT l.mode, l.bucket, sum(l.count)::bigint FROM ` + r.latency + ` l
		WHERE l.client_id = $3 AND l.mode IN ('live', 'test') AND ` + r.window("l") + `
		GROUP BY l.mode, l.bucket`
}

func scanClientList(res pgx.BatchResults) ([]metrics.ClientCounts, error) {
	rows, err := res.Query()
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (metrics.ClientCounts, error) {
		var c metrics.ClientCounts
		return c, row.Scan(&c.ID, &c.Name, &c.Status)
	})
}

func scanCounts(res pgx.BatchResults, snap *metrics.Snapshot) error {
	rows, err := res.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	clients := make(map[uuid.UUID]*metrics.ClientCounts, len(snap.Clients))
	for i := range snap.Clients {
		clients[snap.Clients[i].ID] = &snap.Clients[i]
	}
	for rows.Next() {
		var grouping int
		var mode tryon.Mode
		var start *time.Time
		var service *tryon.Service
		var client *uuid.UUID
		var c metrics.Counts
		if err := rows.Scan(&grouping, &mode, &start, &service, &client, &c.Generations, &c.Succeeded,
			&c.Failed, &c.Processing, &c.CostMicros, &c.LatencyCount, &c.LatencySumMS); err != nil {
			return err
		}
		if grouping == groupedByMode {
			snap.Totals(mode).Add(c)
			continue
		}
		// Only the totals count test mode apart; the breakdowns are live.
		if mode != tryon.ModeLive {
			continue
		}
		switch {
		case grouping == groupedByStart && start != nil:
			if err := snap.AddPoint(*start, c); err != nil {
				return err
			}
		case grouping == groupedByService && service != nil:
			snap.AddService(*service, c)
		case grouping == groupedByClient && client != nil:
			// A tenant created after the tenant list was read has no
			// rollups yet; one deleted meanwhile has nothing to show.
			if cc := clients[*client]; cc != nil {
				cc.Counts.Add(c)
			}
		}
	}
	return rows.Err()
}

func scanLatency(res pgx.BatchResults, snap *metrics.Snapshot) error {
	rows, err := res.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var mode tryon.Mode
		var bucket int
		var n int64
		if err := rows.Scan(&mode, &bucket, &n); err != nil {
			return err
		}
		snap.Latency(mode).Add(bucket, n)
	}
	return rows.Err()
}

// uuidAt returns the smallest UUIDv7 of the millisecond of t: every id
// made at t or later sorts at or after it, every earlier one before it.
func uuidAt(t time.Time) uuid.UUID {
	ms := min(max(t.UnixMilli(), 0), 1<<48-1)
	var u uuid.UUID
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(ms))
	copy(u[:6], b[2:])
	return u
}
