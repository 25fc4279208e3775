package tryon

import "strconv"

// Micros is an amount of money in micro-dollars (1 USD = 1,000,000). Money is
// never a float in the database or in arithmetic; Dollars exists only for the
// API's convenience "cost" field.
type Micros int64

// Currency is the only currency Tryon bills in.
const Currency = "USD"

// Dollars returns m as a decimal number of dollars for display.
func (m Micros) Dollars() float64 {
	// Exact for every amount below 2^53 micros (about 9 billion dollars).
	v, _ := strconv.ParseFloat(m.String(), 64)
	return v
}

// String formats m as a decimal dollar amount, e.g. "0.04".
func (m Micros) String() string {
	neg := m < 0
	if neg {
		m = -m
	}
	whole := strconv.FormatInt(int64(m)/1_000_000, 10)
	frac := strconv.FormatInt(int64(m)%1_000_000+1_000_000, 10)[1:]
	for len(frac) > 0 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	s := whole
	if frac != "" {
		s += "." + frac
	}
	if neg {
		s = "-" + s
	}
	return s
}
