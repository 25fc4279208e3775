package config

import (
	"fmt"
	"os"
	"reflect"
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
	for _, name := range names() {
		def, desc, required := describe(name)
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

// names lists every setting's variable name, in declaration order.
func names() []string {
	t := reflect.TypeOf(Config{})
	out := make([]string, t.NumField())
	for i := range out {
		out[i] = t.Field(i).Tag.Get("envconfig")
	}
	return out
}

// describe returns a variable's description, for generated documentation.
func describe(name string) (defaultValue, description string, required bool) {
	t := reflect.TypeOf(Config{})
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Tag.Get("envconfig") == name {
			return f.Tag.Get("default"), f.Tag.Get("desc"), f.Tag.Get("required") == "true"
		}
	}
	return "", "", false
}
