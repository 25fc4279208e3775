package httpapi

import "time"

// SetHealthClock makes GET /health's database check read time from now.
func SetHealthClock(s *Server, now func() time.Time) { s.health.now = now }

// FillBodyBudget takes the whole of the process's budget of large bodies,
// as requests reading them would, and returns what gives it back.
func FillBodyBudget() (release func(), ok bool) {
	if !bodies.sem.TryAcquire(BodyBudget) {
		return nil, false
	}
	return func() { bodies.sem.Release(BodyBudget) }, true
}
