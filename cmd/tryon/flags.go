package main

import (
	"flag"
	"io"
)

// parseFlags parses flags that may come before or after positional
// arguments ("client suspend acme -reason x" and "client suspend -reason x
// acme" both work), returning the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
		// Stop at a bare "--" like flag does.
		if len(args) > 0 && args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
	}
}
