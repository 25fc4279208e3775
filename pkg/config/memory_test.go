package config

import "testing"

// TestMemoryLimit checks the soft memory limit a process sets for itself:
// none over the operator's GOMEMLIMIT, three quarters of a Vercel
// function's memory, the documented default otherwise.
func TestMemoryLimit(t *testing.T) {
	cases := map[string]struct {
		env  map[string]string
		want int64
	}{
		"Default":          {nil, DefaultMemoryLimit},
		"OperatorsLimit":   {map[string]string{"GOMEMLIMIT": "300MiB", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}, 0},
		"OperatorSaidOff":  {map[string]string{"GOMEMLIMIT": "off"}, 0},
		"EmptyIsUnset":     {map[string]string{"GOMEMLIMIT": ""}, DefaultMemoryLimit},
		"VercelFunction":   {map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}, 768 << 20},
		"SmallFunction":    {map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}, 96 << 20},
		"NotANumber":       {map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1GB"}, DefaultMemoryLimit},
		"NotAPositiveSize": {map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "0"}, DefaultMemoryLimit},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := MemoryLimit(Map(c.env)); got != c.want {
				t.Fatalf("got %d, want %d", got, c.want)
			}
		})
	}
}
