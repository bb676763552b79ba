// Command concertmaster is ConcertMaster's single binary: the server (API, workers and web editor),
// a standalone worker, a local workflow runner, and registry and database tools.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/concertmaster/concertmaster/internal/config"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// exitError carries a process exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func main() {
	os.Exit(run())
}

// run executes the command line and returns the process exit code.
func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(os.Stdout, os.Stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "concertmaster:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	var cfg config.Config
	root := &cobra.Command{
		Use:           "concertmaster",
		Short:         "ConcertMaster: build, run and watch workflows",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	flags := root.PersistentFlags()
	flags.StringVar(&cfg.DatabaseURL, "database-url", os.Getenv("CM_DATABASE_URL"), "store: sqlite://PATH or postgres://… (env CM_DATABASE_URL; default "+config.DatabaseURLDefault+")")
	flags.StringVar(&cfg.LogFormat, "log-format", os.Getenv("CM_LOG_FORMAT"), "log format: text or json (env CM_LOG_FORMAT)")
	flags.StringVar(&cfg.LogLevel, "log-level", os.Getenv("CM_LOG_LEVEL"), "log level: debug, info, warn, error (env CM_LOG_LEVEL)")
	env := func() {
		cfg.Workers = envInt("CM_WORKERS")
		cfg.MaxOutputBytes = int64(envInt("CM_MAX_OUTPUT_BYTES"))
		cfg.HTTPAllowPrivate, _ = strconv.ParseBool(os.Getenv("CM_HTTP_ALLOW_PRIVATE"))
		cfg.HTTPAllowlist = os.Getenv("CM_HTTP_ALLOWLIST")
		cfg.WebhookTimeout = envDuration("CM_WEBHOOK_TIMEOUT")
		cfg.ShutdownGrace = envDuration("CM_SHUTDOWN_GRACE")
	}
	load := func() (config.Config, *slog.Logger, error) {
		env()
		c := cfg.WithDefaults()
		if err := c.Validate(); err != nil {
			return c, nil, &exitError{code: 2, err: fmt.Errorf("invalid configuration:\n%w", err)}
		}
		return c, newLogger(c, stderr), nil
	}
	root.AddCommand(
		newServeCmd(&cfg, load),
		newWorkerCmd(load),
		newRunCmd(&cfg, load),
		newNodesCmd(load),
		newMigrateCmd(load),
		newVersionCmd(),
	)
	return root
}

func envInt(name string) int {
	n, _ := strconv.Atoi(os.Getenv(name))
	return n
}

func envDuration(name string) time.Duration {
	d, _ := time.ParseDuration(os.Getenv(name))
	return d
}

func newLogger(c config.Config, w io.Writer) *slog.Logger {
	level, _ := config.ParseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

type loader func() (config.Config, *slog.Logger, error)

// printValidation writes each validation error on its own line.
func printValidation(w io.Writer, source string, err error) bool {
	var verrs workflow.ValidationErrors
	if !errors.As(err, &verrs) {
		return false
	}
	fmt.Fprintf(w, "%s: %d problem(s):\n", source, len(verrs))
	for _, v := range verrs {
		fmt.Fprintf(w, "  %s: %s\n", v.Pointer, v.Message)
	}
	return true
}
