package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/app"
	"github.com/tryonhq/tryon/pkg/generation"
	"github.com/tryonhq/tryon/pkg/httpapi"
)

// serveLocal serves the app on addr the way a Vercel deployment does: files
// in public/ first, then every route as vercel.json rewrites it. A sweep
// runs on a timer, as Vercel Cron does in production. It returns when ctx
// ends, after letting requests in flight finish. wrap adds handlers in front
// (dev's demo shop).
func serveLocal(ctx context.Context, a *app.App, l net.Listener, e env, wrap ...func(http.Handler) http.Handler) error {
	h := withPublicFiles(a.Handler())
	for _, w := range wrap {
		h = w(h)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      httpapi.LongestMaxDuration() + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		sweepEvery(ctx, a, 10*time.Second, "http://"+l.Addr().String())
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(e.stderr, "\nshutting down…")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(shutCtx)
	<-sweepDone
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// sweepEvery runs the cron sweep on a timer, so long jobs nobody polls and
// webhook retries behave locally as they do on Vercel.
func sweepEvery(ctx context.Context, a *app.App, every time.Duration, base string) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			opts := generation.ReadOptions{BaseURL: base}
			if a.Config.PublicBaseURL != "" {
				opts.BaseURL = a.Config.PublicBaseURL
			}
			rep, err := a.Runner.Sweep(ctx, opts)
			if err != nil {
				a.Log.Error("sweep", "error", err)
			} else if rep.Expired+rep.Polled+rep.WebhooksDelivered+rep.WebhooksFailed > 0 {
				a.Log.Info("sweep", "report", rep)
			}
			drainMeter(ctx, a)
		}
	}
}

// withPublicFiles serves the files of public/ (found from the repository
// root) for GET and HEAD, like Vercel's static output, before the API.
func withPublicFiles(api http.Handler) http.Handler {
	dir := publicDir()
	if dir == "" {
		return api
	}
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			p := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(r.URL.Path, "/")))
			if r.URL.Path == "/" {
				p = filepath.Join(dir, "index.html")
			}
			if info, err := os.Stat(p); err == nil && !info.IsDir() && !strings.Contains(r.URL.Path, "..") {
				files.ServeHTTP(w, r)
				return
			}
		}
		api.ServeHTTP(w, r)
	})
}

func publicDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "vercel.json")); err == nil {
			return filepath.Join(d, "public")
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}
