package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tryonhq/tryon/pkg/httpapi"
)

// runVercelJSON prints vercel.json as the route table defines it, or with
// -w writes it to the repository's vercel.json (found from the working
// directory), so a function's maxDuration is changed in one place.
func runVercelJSON(e env, args []string) error {
	fs := flag.NewFlagSet("vercel-json", flag.ContinueOnError)
	write := fs.Bool("w", false, "write vercel.json instead of printing it")
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{"usage: tryon vercel-json [-w]"}
	}
	out := httpapi.VercelJSON()
	if !*write {
		_, err := e.stdout.Write(out)
		return err
	}
	path, err := repositoryFile("vercel.json")
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, out) {
		fmt.Fprintln(e.stderr, path, "is up to date")
		return nil
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "wrote", path)
	return nil
}

// repositoryFile finds name in the working directory or the nearest parent
// that holds go.mod.
func repositoryFile(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, name), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod in %s or its parents: run this in the repository", dir)
		}
	}
}
