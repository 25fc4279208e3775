package postgres

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitStatements(t *testing.T) {
	script := `-- a comment; with a semicolon
SET a = 1;
CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN 'x;y'; -- inside
END
$$;
/* block; comment */ SELECT 'it''s;' AS "semi;colon";
DO $body$ BEGIN PERFORM 1; END $body$;
-- a trailing comment only`
	got := splitStatements(script)
	want := []string{
		"-- a comment; with a semicolon\nSET a = 1;",
		"CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $$\nBEGIN\n    RETURN 'x;y'; -- inside\nEND\n$$;",
		"/* block; comment */ SELECT 'it''s;' AS \"semi;colon\";",
		"DO $body$ BEGIN PERFORM 1; END $body$;",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q", got)
	}
	// The real schema: every function arrives whole.
	for _, s := range splitStatements(Schema()) {
		if strings.Count(s, "$$")%2 != 0 {
			t.Fatalf("a dollar-quoted body was cut: %s", s)
		}
	}
}

func TestAlreadyThereParsesCreates(t *testing.T) {
	for stmt, name := range map[string]string{
		"-- why\nCREATE UNIQUE INDEX IF NOT EXISTS clients_name_key\n ON clients (name);": "clients_name_key",
		"CREATE UNLOGGED TABLE IF NOT EXISTS rate_counters (x int);":                      "rate_counters",
		"CREATE TABLE IF NOT EXISTS clients (":                                            "clients",
		"CREATE OR REPLACE FUNCTION f() RETURNS int":                                      "",
	} {
		m := createIfNotExists.FindStringSubmatch(stripLeadingComments(stmt))
		got := ""
		if m != nil {
			got = m[2]
		}
		if got != name {
			t.Errorf("%q: %q, want %q", stmt, got, name)
		}
	}
}
