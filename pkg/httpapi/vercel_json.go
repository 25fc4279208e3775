package httpapi

import (
	"bytes"
	"encoding/json"
)

// CronSchedules gives each cron function (by its api/ file) the schedule
// vercel.json declares. Vercel's Hobby plan runs cron jobs at most once a
// day: there, make it "0 0 * * *" and regenerate vercel.json.
var CronSchedules = map[string]string{
	"cron": "* * * * *",
}

// VercelJSON renders vercel.json from the route table: every function with
// its maxDuration, every public path's rewrite (the catch-all last), and
// the cron jobs. vercel.json is this output and nothing else (a test checks
// it); `tryon vercel-json -w` writes it.
func VercelJSON() []byte {
	type function struct {
		MaxDuration int `json:"maxDuration"`
	}
	type rewrite struct {
		Source      string `json:"source"`
		Destination string `json:"destination"`
	}
	type cron struct {
		Path     string `json:"path"`
		Schedule string `json:"schedule"`
	}
	// functions is an object whose keys keep the route table's order,
	// which a Go map would sort.
	var functions bytes.Buffer
	functions.WriteByte('{')
	var rewrites []rewrite
	var crons []cron
	var catchAll *Route
	for i, rt := range Routes {
		if i > 0 {
			functions.WriteByte(',')
		}
		name, _ := json.Marshal("api/" + rt.Function + ".go")
		body, _ := json.Marshal(function{rt.MaxDuration})
		functions.Write(name)
		functions.WriteByte(':')
		functions.Write(body)
		if src, dst, ok := rt.Rewrite(); ok {
			rewrites = append(rewrites, rewrite{src, dst})
		}
		if rt.Path == "" {
			catchAll = &Routes[i]
		}
		if schedule, ok := CronSchedules[rt.Function]; ok {
			crons = append(crons, cron{rt.FunctionPath(), schedule})
		}
	}
	functions.WriteByte('}')
	if catchAll != nil {
		rewrites = append(rewrites, rewrite{"/(.*)", catchAll.FunctionPath()})
	}
	doc := struct {
		Schema    string          `json:"$schema"`
		Framework *string         `json:"framework"`
		Functions json.RawMessage `json:"functions"`
		Rewrites  []rewrite       `json:"rewrites"`
		Crons     []cron          `json:"crons"`
	}{"https://openapi.vercel.sh/vercel.json", nil, functions.Bytes(), rewrites, crons}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic("httpapi: vercel.json: " + err.Error()) // only strings and ints: cannot fail
	}
	return append(out, '\n')
}
