package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ui"
)

// uiCommand is `mlrun ui`: the web interface on the store, on 127.0.0.1
// unless told otherwise. (`mlrun server` mounts the same handler at "/"
// beside the REST API.)
func (a *app) uiCommand() *cobra.Command {
	var host string
	var port int
	c := &cobra.Command{
		Use:   "ui",
		Short: "Browse, compare and manage runs and models in a web browser",
		Long: `Serve the web interface on the tracking store: experiments, runs with
filters and chosen columns, run pages with provenance, pipeline timelines and
artifact previews, comparison of runs, and the model registry.

It shows the store named by --tracking-uri, else $MLRUN_TRACKING_URI, else
./mlruns, and says which one on every page. SIGINT or SIGTERM stops it.`,
		Example: `  mlrun ui                          # ./mlruns on http://127.0.0.1:5000
  mlrun ui --tracking-uri ~/proj/mlruns --port 8080`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if port < 0 || port > 65535 {
				return errs.Errorf(errs.Invalid, "--port must be between 0 and 65535, not %d", port)
			}
			return a.serveUI(c.Context(), net.JoinHostPort(host, strconv.Itoa(port)))
		},
	}
	c.Flags().StringVar(&host, "host", "127.0.0.1", "address to listen on (0.0.0.0 for every interface)")
	c.Flags().IntVarP(&port, "port", "p", 5000, "TCP port; 0 picks a free one")
	return c
}

func (a *app) serveUI(ctx context.Context, addr string) error {
	st, label, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	h, err := ui.New(ui.Options{Store: st, Registry: st, StoreLabel: label})
	if err != nil {
		return err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return errs.Errorf(errs.Invalid, "cannot listen on %s: %v", addr, err)
	}
	n, err := st.CountRuns(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	fmt.Fprintf(a.stdout, "mlrun ui: store %s holds %d run(s)\nmlrun ui: serving on http://%s/\n", label, n, ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve ui: %w", err)
		}
		return nil
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		return nil
	}
}
