package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/concertmaster/concertmaster/internal/app"
	"github.com/concertmaster/concertmaster/internal/store"
)

func newServeCmd(load loader) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API, the web editor and (with --role=all) run executions",
		Long: "Serve the REST API (/api/v1, /openapi.json, /docs), webhooks (/hooks/…), /healthz, /readyz, /metrics and the web editor.\n" +
			"With the default role \"all\" the process also runs executions; with --role=api it only serves, and\n" +
			"`concertmaster worker` processes run the executions (PostgreSQL only).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, logger, err := load()
			if err != nil {
				return err
			}
			srv, err := app.NewServer(cmd.Context(), c, version, logger)
			if err != nil {
				return err
			}
			if c.PprofAddr != "" {
				startPprof(c.PprofAddr, logger)
			}
			return srv.Run(cmd.Context())
		},
	}
	return cmd
}

func newWorkerCmd(load loader) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run executions without serving HTTP (pair with serve --role=api on PostgreSQL)",
		Long: "Run executions without serving HTTP: pair with `serve --role=api` processes on the same PostgreSQL.\n" +
			"--concurrency (alias of --workers, CM_WORKERS) is how many executions the process runs at once.\n" +
			"On SIGTERM or SIGINT the worker drains: it claims nothing new, lets running attempts finish for\n" +
			"three quarters of CM_SHUTDOWN_GRACE, then hands every execution back to the queue with its lease\n" +
			"released, so that another worker resumes it at once; it exits 0 when that is done (docs/deploy.md).",
		Args: cobra.NoArgs,
	}
	concurrency := &settingValue{kind: "int"}
	cmd.Flags().Var(concurrency, "concurrency", "executions this worker runs at once: an alias of --workers (env CM_WORKERS)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var opts []loadOption
		if cmd.Flags().Changed("concurrency") {
			if w := cmd.Flags().Lookup("workers"); w != nil && w.Changed && w.Value.String() != concurrency.raw {
				return &exitError{code: 2, err: fmt.Errorf("--concurrency=%s and --workers=%s disagree: give one of them", concurrency.raw, w.Value.String())}
			}
			opts = append(opts, withFlagValue("CM_WORKERS", concurrency.raw, "--concurrency"))
		}
		c, logger, err := load(opts...)
		if err != nil {
			return err
		}
		rt, err := app.NewRuntime(cmd.Context(), c, logger)
		if err != nil {
			return err
		}
		sentry, err := app.NewSentry(c, version)
		if err != nil {
			_ = rt.Close(context.Background())
			return err
		}
		// Nodes that panic are reported, as the API reports its own panics and 5xx answers.
		rt.ReportPanicsTo(sentry)
		defer sentry.Close(2 * time.Second)
		if err := rt.Register(cmd.Context(), store.ProcessRoleWorker); err != nil {
			_ = rt.Close(context.Background())
			return err
		}
		rt.StartCluster(false)
		if err := rt.Start(cmd.Context()); err != nil {
			_ = rt.Close(context.Background())
			return err
		}
		// On River a worker may be the elected leader, which alone fires schedules (ADR 0022).
		if rt.Leads() {
			if err := rt.Scheduler.Start(cmd.Context()); err != nil {
				_ = rt.Close(context.Background())
				return err
			}
		}
		logger.Info("Worker is running", "store", rt.Store.Dialect(), "workers", c.Workers, "owner", rt.Owner)
		<-cmd.Context().Done()
		logger.Info("Draining", "grace", c.ShutdownGrace.String(), "drain_timeout", app.DrainTimeout(c.ShutdownGrace).String())
		ctx, cancel := shutdownContext(c)
		defer cancel()
		start := time.Now()
		if err := rt.Close(ctx); err != nil {
			return fmt.Errorf("drain: %w", err)
		}
		logger.Info("Worker stopped", "took", time.Since(start).Round(time.Millisecond).String())
		return nil
	}
	return cmd
}
