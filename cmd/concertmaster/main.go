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
	"syscall"

	"github.com/spf13/cobra"

	"github.com/concertmaster/concertmaster/internal/cluster"
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
	return newRootEnv(stdout, stderr, os.LookupEnv, os.Environ)
}

// newRootEnv is newRoot reading the environment through lookupEnv and environ, so that tests can
// hand it their own.
func newRootEnv(stdout, stderr io.Writer, lookupEnv func(string) (string, bool), environ func() []string) *cobra.Command {
	root := &cobra.Command{
		Use:           "concertmaster",
		Short:         "ConcertMaster: build, run and watch workflows",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	// A bad flag (unknown, or missing its value) is a usage error, like a bad setting.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{code: 2, err: err} })
	flags := root.PersistentFlags()
	env := config.EnvLookup(lookupEnv)
	for _, s := range config.Settings() {
		// riverui style: the flag's default is the environment's value, so that --help shows what is in
		// effect. A secret (the database URL) is not shown.
		def, _, _ := env(s)
		if s.Secret {
			def = ""
		}
		usage := fmt.Sprintf("%s (env %s", s.Usage, s.Env)
		if d := s.Default(); d != "" {
			usage += "; default " + d
		}
		v := &settingValue{raw: def, kind: s.Kind}
		flags.Var(v, s.Flag, usage+")")
		if s.IsBool {
			flags.Lookup(s.Flag).NoOptDefVal = "true"
		}
	}
	// Every setting comes from its flag when the command line sets it, else from the environment.
	lookup := func(s config.Setting) (string, string, bool) {
		if f := flags.Lookup(s.Flag); f != nil && f.Changed {
			return f.Value.String(), "--" + s.Flag, f.Value.String() != ""
		}
		return env(s)
	}
	load := func(opts ...loadOption) (config.Config, *slog.Logger, error) {
		l := config.LookupFunc(lookup)
		for _, o := range opts {
			l = o(l)
		}
		c, err := config.Load(l)
		if err != nil {
			return c, nil, &exitError{code: 2, err: fmt.Errorf("invalid configuration:\n%w", err)}
		}
		logger := newLogger(c, stderr)
		// The Redis client library logs every failed dial on its own; the link logs an outage once.
		cluster.RouteClientLogs(logger)
		for _, name := range config.UnknownEnv(environ()) {
			logger.Warn("Ignoring an environment variable that is not a setting", "name", name)
		}
		return c, logger, nil
	}
	root.AddCommand(
		newServeCmd(load),
		newWorkerCmd(load),
		newRunCmd(load),
		newNodesCmd(load),
		newMigrateCmd(load),
		newBackupCmd(load),
		newRestoreCmd(load),
		newWatchCmd(lookupEnv),
		newDecideCmd(lookupEnv, true),
		newDecideCmd(lookupEnv, false),
		newLoginCmd(lookupEnv),
		newLogoutCmd(lookupEnv),
		newAdminCmd(load),
		newCredentialsCmd(load),
		newPluginCmd(),
		newVersionCmd(),
	)
	return root
}

// settingValue is a setting's flag: it keeps the text, which config.Load parses with every other
// setting so that all problems are reported together, naming the flag.
type settingValue struct {
	raw, kind string
}

func (v *settingValue) String() string { return v.raw }

func (v *settingValue) Set(s string) error {
	v.raw = s
	return nil
}

// Type names the kind of value in --help.
func (v *settingValue) Type() string { return v.kind }

// loadOption changes where a command's settings come from, before they are parsed.
type loadOption func(config.LookupFunc) config.LookupFunc

// withFallback sets env's value to value when neither its flag nor its variable is set.
func withFallback(env, value string) loadOption {
	return func(next config.LookupFunc) config.LookupFunc {
		return func(s config.Setting) (string, string, bool) {
			if raw, origin, ok := next(s); ok || s.Env != env {
				return raw, origin, ok
			}
			return value, s.Env, true
		}
	}
}

// withFlagValue sets env's value to value, read from the flag origin (an alias such as
// --concurrency), whatever the setting's own flag and variable say; problems name origin.
func withFlagValue(env, value, origin string) loadOption {
	return func(next config.LookupFunc) config.LookupFunc {
		return func(s config.Setting) (string, string, bool) {
			if s.Env == env {
				return value, origin, value != ""
			}
			return next(s)
		}
	}
}

// withValue sets env's value to value whatever the flag and the variable say.
func withValue(env, value string) loadOption {
	return func(next config.LookupFunc) config.LookupFunc {
		return func(s config.Setting) (string, string, bool) {
			if s.Env == env {
				return value, s.Env, true
			}
			return next(s)
		}
	}
}

func newLogger(c config.Config, w io.Writer) *slog.Logger {
	level, _ := config.ParseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// loader parses and checks the configuration and builds the logger; a bad configuration is an
// *exitError with code 2 listing every problem.
type loader func(opts ...loadOption) (config.Config, *slog.Logger, error)

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
