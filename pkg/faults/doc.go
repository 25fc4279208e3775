// Package faults holds the fault suite's tests that need the whole
// application: hostile HTTP input against the running server and the
// check that no secret ever reaches a response or a log line. The suite's
// other parts sit beside the code they exercise (pkg/generation's crash,
// load and migration tests) and its long runs are `tryon bench` commands.
package faults
