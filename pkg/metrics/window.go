package metrics

import (
	"net/url"
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// Bucket is the width of one step of a metrics series.
type Bucket string

// The bucket widths of GET /metrics.
const (
	Hour Bucket = "hour"
	Day  Bucket = "day"
)

// Duration is the bucket's width. Buckets are in UTC, where every day has
// 24 hours.
func (b Bucket) Duration() time.Duration {
	if b == Hour {
		return time.Hour
	}
	return 24 * time.Hour
}

// Window caps (docs/API.md): the series stays small enough to answer from the
// rollups in one round trip.
const (
	MaxHourBuckets = 31 * 24
	MaxDayBuckets  = 366
	// DefaultDays is the default window: the last 30 days, today included.
	DefaultDays = 30
)

// Window is the half-open interval [From, To) a metrics read covers, cut
// into buckets. From and To are UTC and fall on bucket boundaries.
type Window struct {
	From   time.Time
	To     time.Time
	Bucket Bucket
}

// Len is the number of buckets in the window.
func (w Window) Len() int { return int(w.To.Sub(w.From) / w.Bucket.Duration()) }

// Start returns the start of the i-th bucket.
func (w Window) Start(i int) time.Time { return w.From.Add(time.Duration(i) * w.Bucket.Duration()) }

// Index returns the bucket that holds t, and false when t is outside the
// window.
func (w Window) Index(t time.Time) (int, bool) {
	if t.Before(w.From) || !t.Before(w.To) {
		return 0, false
	}
	return int(t.Sub(w.From) / w.Bucket.Duration()), true
}

// DayAligned reports whether the window starts and ends on UTC midnights,
// so that the daily rollups can answer for it.
func (w Window) DayAligned() bool { return isMidnight(w.From) && isMidnight(w.To) }

func isMidnight(t time.Time) bool { return t.Equal(t.Truncate(24 * time.Hour)) }

// ParseWindow reads the window of GET /metrics from its query: from and to
// (RFC 3339 or YYYY-MM-DD), and bucket (hour or day, default day). A
// date-only from starts at that UTC midnight and a date-only to includes its
// whole day; then from is rounded down and to up to bucket boundaries. A
// missing to is the end of today; a missing from is 30 days before to, so
// the default is the last 30 days, today included. Every invalid parameter
// is named in the error's details.
func ParseWindow(q url.Values, now time.Time) (Window, error) {
	var details []tryon.FieldError
	var from, to time.Time
	w := Window{Bucket: Day}
	switch b := Bucket(q.Get("bucket")); b {
	case "":
	case Hour, Day:
		w.Bucket = b
	default:
		details = append(details, tryon.FieldError{Field: "bucket", Message: "must be hour or day"})
	}
	for _, b := range []struct {
		field string
		end   bool
		into  *time.Time
	}{{"from", false, &from}, {"to", true, &to}} {
		v, ok := parseBound(q.Get(b.field), b.end)
		switch {
		case !ok:
			details = append(details, tryon.FieldError{Field: b.field, Message: "must be an RFC 3339 time or a YYYY-MM-DD date"})
		case !v.IsZero() && (v.Before(earliest) || v.After(latest)):
			details = append(details, tryon.FieldError{Field: b.field, Message: "must be between 1970-01-01 and 9999-12-31"})
		}
		*b.into = v
	}
	if len(details) > 0 {
		return Window{}, tryon.Invalid(details...)
	}

	size := w.Bucket.Duration()
	if to.IsZero() {
		to = now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	}
	if from.IsZero() {
		from = ceil(to, size).AddDate(0, 0, -DefaultDays)
	}
	// Compared as given: rounding must not turn a reversed window into a
	// valid one.
	if !from.Before(to) {
		return Window{}, tryon.Invalid(tryon.FieldError{Field: "from", Message: "must be before to"})
	}
	w.From, w.To = from.Truncate(size), ceil(to, size)
	if w.Bucket == Hour && w.Len() > MaxHourBuckets {
		return Window{}, tryon.Invalid(tryon.FieldError{Field: "from",
			Message: "must be at most 31 days before to with bucket=hour; use bucket=day for longer windows"})
	}
	if w.Bucket == Day && w.Len() > MaxDayBuckets {
		return Window{}, tryon.Invalid(tryon.FieldError{Field: "from", Message: "must be at most 366 days before to"})
	}
	return w, nil
}

// The dates a window may name. Outside them a default from (30 days
// earlier) or a rounded to would fall outside the years an RFC 3339 answer
// can show, and nothing was generated before 1970 anyway.
var (
	earliest = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	latest   = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// parseBound parses one end of the window; an empty value is the zero time.
// A date-only end of the window (end = true) means the end of that day.
func parseBound(v string, end bool) (time.Time, bool) {
	if v == "" {
		return time.Time{}, true
	}
	if len(v) == len(time.DateOnly) {
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return time.Time{}, false
		}
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return d, true
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil && strings.Contains(v, " ") {
		// An unencoded "+" in a query string arrives as a space: an offset
		// such as +02:00 is still unambiguous.
		t, err = time.Parse(time.RFC3339, strings.ReplaceAll(v, " ", "+"))
	}
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// ceil rounds t up to a multiple of d (in UTC, since the zero time is).
func ceil(t time.Time, d time.Duration) time.Time {
	if f := t.Truncate(d); !f.Equal(t) {
		return f.Add(d)
	}
	return t
}
