package httpapi

import "time"

// SetHealthClock makes GET /health's database check read time from now.
func SetHealthClock(s *Server, now func() time.Time) { s.health.now = now }
