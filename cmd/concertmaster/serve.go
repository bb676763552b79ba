package main

import (
	"github.com/spf13/cobra"

	"github.com/concertmaster/concertmaster/internal/app"
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
	return &cobra.Command{
		Use:   "worker",
		Short: "Run executions without serving HTTP (pair with serve --role=api on PostgreSQL)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, logger, err := load()
			if err != nil {
				return err
			}
			rt, err := app.NewRuntime(cmd.Context(), c, logger)
			if err != nil {
				return err
			}
			if err := rt.Start(cmd.Context()); err != nil {
				return err
			}
			logger.Info("Worker is running", "store", rt.Store.Dialect(), "workers", c.Workers, "owner", rt.Owner)
			<-cmd.Context().Done()
			ctx, cancel := shutdownContext(c)
			defer cancel()
			return rt.Close(ctx)
		},
	}
}
