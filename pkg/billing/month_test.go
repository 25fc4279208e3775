package billing_test

import (
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/billing"
)

func TestMonthBoundsAreUTC(t *testing.T) {
	m, err := billing.ParseMonth("2026-12")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Start(), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("start %v, want %v", got, want)
	}
	if got, want := m.End(), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("end %v, want %v", got, want)
	}
	// 23:30 on the 30th of November in New York is already December in UTC.
	ny := time.FixedZone("EST", -5*3600)
	if got := billing.MonthOf(time.Date(2026, 11, 30, 23, 30, 0, 0, ny)).String(); got != "2026-12" {
		t.Errorf("MonthOf = %s, want 2026-12", got)
	}
	for _, bad := range []string{"", "2026-13", "2026-1", "26-11", "2026-11-01", "2026/11", " 2026-11"} {
		if _, err := billing.ParseMonth(bad); err == nil {
			t.Errorf("ParseMonth(%q) accepted", bad)
		}
	}
}

func FuzzParseMonth(f *testing.F) {
	for _, s := range []string{"2026-11", "0000-01", "9999-12", "2026-00", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := billing.ParseMonth(s)
		if err != nil {
			return
		}
		if m.String() != s {
			t.Errorf("ParseMonth(%q).String() = %q", s, m.String())
		}
		if !m.Start().Before(m.End()) {
			t.Errorf("%s: start %v is not before end %v", s, m.Start(), m.End())
		}
	})
}
