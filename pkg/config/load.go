package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"text/tabwriter"

	"github.com/kelseyhightower/envconfig"
)

// Lookup finds a setting by name, like os.LookupEnv.
type Lookup func(name string) (string, bool)

// FromEnv loads the configuration from the process environment.
func FromEnv() (*Config, error) { return Load(os.LookupEnv) }

// Load reads every setting through lookup, applies defaults, parses values
// with envconfig, and validates the result. An empty value counts as unset
// (Vercel's dashboard makes those easily).
//
// envconfig (v1.4.0) reads only the process environment, and tests must run
// in parallel without touching it. So Load hands envconfig a shadow of
// Config whose every field's default is the value looked up: envconfig's own
// parsing then decides what "30s" or "a,b" means, and the process
// environment is never read or written.
func Load(lookup Lookup) (*Config, error) {
	var cfg Config
	real := reflect.ValueOf(&cfg).Elem()
	t := real.Type()
	fields := make([]reflect.StructField, t.NumField())
	var missing []error
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("envconfig")
		value, ok := lookup(name)
		if !ok || value == "" {
			value = f.Tag.Get("default")
		}
		if value == "" && f.Tag.Get("required") == "true" {
			missing = append(missing, fmt.Errorf("%s is required", name))
		}
		fields[i] = reflect.StructField{
			Name: f.Name,
			Type: f.Type,
			Tag:  reflect.StructTag(fmt.Sprintf(`envconfig:"%s" default:%s`, shadowKey(i), strconv.Quote(value))),
		}
	}
	if len(missing) > 0 {
		return nil, errors.Join(missing...)
	}
	shadow := reflect.New(reflect.StructOf(fields))
	if err := envconfig.Process("", shadow.Interface()); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			f, _ := t.FieldByName(pe.FieldName)
			return nil, fmt.Errorf("%s is invalid: %v", f.Tag.Get("envconfig"), pe.Err)
		}
		return nil, err
	}
	for i := range t.NumField() {
		real.Field(i).Set(shadow.Elem().Field(i))
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// shadowKey is a variable name no environment has, so that envconfig always
// falls back to the default carrying the looked-up value.
func shadowKey(i int) string { return "TRYON_CONFIG_SHADOW_FIELD_" + strconv.Itoa(i) }

// Map returns a Lookup over a map, for tests and for overriding settings.
func Map(m map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// Usage writes the table of settings, their defaults and descriptions.
func Usage(w io.Writer) error {
	var cfg Config
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	err := envconfig.Usagef("", &cfg, tw, "VARIABLE\tDEFAULT\tREQUIRED\tDESCRIPTION\n"+
		"{{range .}}{{usage_key .}}\t{{usage_default .}}\t{{usage_required .}}\t{{usage_description .}}\n{{end}}")
	if err != nil {
		return err
	}
	return tw.Flush()
}
