package app

import (
	"net/http"
	"os"
	"sync"

	"github.com/tryonhq/tryon/pkg/config"
	"github.com/tryonhq/tryon/pkg/httpapi"
)

var (
	instanceOnce sync.Once
	instance     *App
	instanceErr  error
)

// Serve is what the functions in api/ call: it builds the application once
// per instance from the environment (warm invocations reuse it, and its
// database pool) and serves the request with the named function's route.
func Serve(function string, w http.ResponseWriter, r *http.Request) {
	instanceOnce.Do(func() {
		config.ApplyMemoryLimit(os.LookupEnv)
		cfg, err := config.FromEnv()
		if err != nil {
			instanceErr = err
			return
		}
		instance, instanceErr = New(cfg, Options{})
		if instanceErr == nil {
			warnAboutDeployment(instance)
		}
	})
	if instanceErr != nil {
		// The operator reads the variable at fault in the function's log;
		// the caller learns only that the deployment is broken.
		httpapi.Misconfigured(instanceErr, NewLogger(os.Stderr, "info")).ServeHTTP(w, r)
		return
	}
	instance.Function(function).ServeHTTP(w, r)
}

// warnAboutDeployment logs what works locally but not on Vercel, once per
// instance, so an operator sees it in the function logs.
func warnAboutDeployment(a *App) {
	if a.Config.StorageKind() == config.StoragePostgres && a.Config.ProviderVeo3 != config.ProviderFake {
		a.Log.Warn("outputs are stored in Postgres: videos over Vercel's 4.5 MB response limit cannot be served; connect a Vercel Blob store (BLOB_READ_WRITE_TOKEN)")
	}
	if a.Config.CronSecret == "" {
		a.Log.Warn("CRON_SECRET is not set: Vercel Cron cannot run the sweep, so long jobs finish only when clients poll them and failed webhooks are not retried")
	}
}
