package metrics_test

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/metrics"
	"github.com/tryonhq/tryon/pkg/tryon"
)

func TestParseWindow(t *testing.T) {
	now := time.Date(2026, 11, 27, 7, 30, 15, 0, time.UTC)
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	valid := []struct {
		name     string
		query    string
		from, to string
		bucket   metrics.Bucket
		len      int
	}{
		{"Default", "", "2026-10-29T00:00:00Z", "2026-11-28T00:00:00Z", metrics.Day, 30},
		{"DefaultByHour", "bucket=hour", "2026-10-29T00:00:00Z", "2026-11-28T00:00:00Z", metrics.Hour, 720},
		{"DatesIncludeTheLastDay", "from=2026-11-01&to=2026-11-30", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", metrics.Day, 30},
		{"OneDate", "from=2026-11-01&to=2026-11-01", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", metrics.Day, 1},
		{"OneDayByHour", "from=2026-11-01&to=2026-11-01&bucket=hour", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", metrics.Hour, 24},
		{"TimesRoundOutwardsToDays", "from=2026-11-01T10:30:00Z&to=2026-11-03T00:00:01Z", "2026-11-01T00:00:00Z", "2026-11-04T00:00:00Z", metrics.Day, 3},
		{"TimesOnBoundariesStay", "from=2026-11-01T00:00:00Z&to=2026-11-03T00:00:00Z", "2026-11-01T00:00:00Z", "2026-11-03T00:00:00Z", metrics.Day, 2},
		{"TimesRoundOutwardsToHours", "bucket=hour&from=2026-11-01T10:30:00Z&to=2026-11-01T12:00:01Z", "2026-11-01T10:00:00Z", "2026-11-01T13:00:00Z", metrics.Hour, 3},
		{"WithinOneHour", "bucket=hour&from=2026-11-01T10:30:00Z&to=2026-11-01T10:45:00Z", "2026-11-01T10:00:00Z", "2026-11-01T11:00:00Z", metrics.Hour, 1},
		{"OffsetsBecomeUTC", "bucket=hour&from=2026-11-01T10:30:00%2B02:00&to=2026-11-01T12:00:00%2B02:00", "2026-11-01T08:00:00Z", "2026-11-01T10:00:00Z", metrics.Hour, 2},
		{"UnencodedPlusInOffset", "bucket=hour&from=2026-11-01T10:30:00+02:00&to=2026-11-01T12:00:00+02:00", "2026-11-01T08:00:00Z", "2026-11-01T10:00:00Z", metrics.Hour, 2},
		{"FractionalSeconds", "bucket=hour&from=2026-11-01T10:00:00.999Z&to=2026-11-01T11:00:00.001Z", "2026-11-01T10:00:00Z", "2026-11-01T12:00:00Z", metrics.Hour, 2},
		{"OnlyFrom", "from=2026-11-20", "2026-11-20T00:00:00Z", "2026-11-28T00:00:00Z", metrics.Day, 8},
		{"OnlyTo", "to=2026-06-30", "2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z", metrics.Day, 30},
		{"OnlyToByHour", "bucket=hour&to=2026-06-30T10:20:00Z", "2026-05-31T11:00:00Z", "2026-06-30T11:00:00Z", metrics.Hour, 720},
		{"FullYearOfDays", "from=2025-01-01&to=2025-12-31", "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z", metrics.Day, 365},
		{"At366DaysOfDays", "from=2024-01-01&to=2024-12-31", "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z", metrics.Day, 366},
		{"At31DaysOfHours", "bucket=hour&from=2026-10-01&to=2026-10-31", "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", metrics.Hour, 744},
		{"ExplicitDay", "bucket=day&from=2026-11-01&to=2026-11-07", "2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z", metrics.Day, 7},
	}
	for _, tc := range valid {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			w, err := metrics.ParseWindow(q, now)
			if err != nil {
				t.Fatalf("got %v, want a window", err)
			}
			if !w.From.Equal(at(tc.from)) || !w.To.Equal(at(tc.to)) || w.Bucket != tc.bucket || w.Len() != tc.len {
				t.Fatalf("got [%s, %s) by %s (%d buckets), want [%s, %s) by %s (%d)",
					w.From.Format(time.RFC3339), w.To.Format(time.RFC3339), w.Bucket, w.Len(), tc.from, tc.to, tc.bucket, tc.len)
			}
			if w.From.Location() != time.UTC || w.To.Location() != time.UTC {
				t.Fatalf("window not in UTC: %v, %v", w.From.Location(), w.To.Location())
			}
		})
	}

	invalid := []struct {
		name   string
		query  string
		fields []string
	}{
		{"UnknownBucket", "bucket=week", []string{"bucket"}},
		{"BucketCase", "bucket=Day", []string{"bucket"}},
		{"MalformedFrom", "from=yesterday", []string{"from"}},
		{"MalformedTo", "to=2026-13-01", []string{"to"}},
		{"NoOffset", "from=2026-11-01T10:00:00", []string{"from"}},
		{"Every", "bucket=minute&from=x&to=y", []string{"bucket", "from", "to"}},
		{"FromEqualsTo", "from=2026-11-01T10:00:00Z&to=2026-11-01T10:00:00Z", []string{"from"}},
		{"FromAfterTo", "from=2026-11-02&to=2026-11-01", []string{"from"}},
		{"FromAfterToWithinABucket", "from=2026-11-01T10:45:00Z&to=2026-11-01T10:30:00Z&bucket=hour", []string{"from"}},
		{"FromAfterToday", "from=2026-12-01", []string{"from"}},
		{"367DaysOfDays", "from=2024-01-01&to=2025-01-01", []string{"from"}},
		{"32DaysOfHours", "bucket=hour&from=2026-10-01&to=2026-11-01", []string{"from"}},
		{"RoundingPastTheCap", "bucket=hour&from=2026-09-30T23:30:00Z&to=2026-10-31T23:30:00Z", []string{"from"}},
		{"DefaultToWithOldFromByHour", "bucket=hour&from=2026-10-01", []string{"from"}},
		// Out of range: the default from would be a year -1, which no
		// RFC 3339 answer can carry.
		{"ToInYearZero", "to=0000-01-01", []string{"to"}},
		{"FromBefore1970", "from=1969-12-31&to=1970-01-05", []string{"from"}},
		{"TimeInYearZero", "from=0000-01-01T00:00:00Z&to=0000-01-02T00:00:00Z", []string{"from", "to"}},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			_, err = metrics.ParseWindow(q, now)
			var te *tryon.Error
			if err == nil || !errors.As(err, &te) || te.Code != tryon.CodeInvalidRequest {
				t.Fatalf("got %v, want invalid_request", err)
			}
			var got []string
			for _, d := range te.Details {
				got = append(got, d.Field)
			}
			if len(got) != len(tc.fields) {
				t.Fatalf("details name %v, want %v", got, tc.fields)
			}
			for i := range got {
				if got[i] != tc.fields[i] {
					t.Fatalf("details name %v, want %v", got, tc.fields)
				}
			}
		})
	}
}

func TestWindowIndex(t *testing.T) {
	w := metrics.Window{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), Bucket: metrics.Hour}
	if !w.DayAligned() {
		t.Fatal("a window of whole days is not day-aligned")
	}
	for _, tc := range []struct {
		at   time.Time
		want int
		ok   bool
	}{
		{w.From, 0, true},
		{w.From.Add(90 * time.Minute), 1, true},
		{w.To.Add(-time.Nanosecond), 23, true},
		{w.To, 0, false},
		{w.From.Add(-time.Nanosecond), 0, false},
	} {
		if got, ok := w.Index(tc.at); got != tc.want || ok != tc.ok {
			t.Errorf("Index(%s) = %d, %v; want %d, %v", tc.at, got, ok, tc.want, tc.ok)
		}
	}
	w.From = w.From.Add(time.Hour)
	if w.DayAligned() {
		t.Fatal("a window starting at 01:00 is day-aligned")
	}
}
