package config

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestREADMEConfigurationTableIsTrue keeps the README's table of variables
// equal to the struct: every variable, its default and its description.
func TestREADMEConfigurationTableIsTrue(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "<!-- config-table:start -->")
	end := strings.Index(readme, "<!-- config-table:end -->")
	if start < 0 || end < start {
		t.Fatal("README.md has no config-table markers")
	}
	got := strings.TrimSpace(readme[start+len("<!-- config-table:start -->") : end])
	want := strings.TrimSpace(markdownTable())
	if got != want {
		t.Fatalf("README's configuration table is out of date; replace it with:\n%s", want)
	}
}

// markdownTable renders the settings as the README's table.
func markdownTable() string {
	var b strings.Builder
	b.WriteString("| variable | default | description |\n|---|---|---|\n")
	for _, name := range Names() {
		def, desc, required := Describe(name)
		switch {
		case required:
			def = "(required)"
		case def != "":
			def = "`" + def + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", name, def, desc)
	}
	return b.String()
}
