package main

import (
	"context"
	"fmt"
)

func runBench(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usageError{"bench needs generate or metrics"}
	}
	switch args[0] {
	case "generate":
		return benchGenerate(ctx, e, args[1:])
	case "metrics":
		return benchMetrics(ctx, e, args[1:])
	}
	return usageError{fmt.Sprintf("unknown benchmark %q", args[0])}
}
