// Package e2e holds the end-to-end test that runs the deployment bundle the
// way Vercel runs it: `vercel build` output served by vercel-sim (each
// function's bootstrap as its own process behind the built routes), against
// a real PostgreSQL, with the fake provider. `.ci/run` runs it; it needs
// Node.js for the Vercel CLI, so `go test ./...` skips it unless
// TRYON_E2E_VERCEL_SIM names the simulator binary.
package e2e
