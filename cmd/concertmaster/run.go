package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/concertmaster/concertmaster/internal/api"
	"github.com/concertmaster/concertmaster/internal/app"
	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

func newRunCmd(load loader) *cobra.Command {
	var input, inputFile, trigger string
	var with []string
	var asJSON bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "run WORKFLOW.json",
		Short: "Run a workflow file locally, without a server, and print each node's result",
		Long: "Run a workflow definition file (\"-\" reads standard input) in this process, on a temporary SQLite store,\n" +
			"printing each node as it finishes and the execution's output at the end. The exit code is 0 when the run\n" +
			"succeeds, 1 when it fails or is canceled, 2 when the file or the input is invalid.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			def, err := readDefinition(args[0], cmd.InOrStdin())
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			in, err := readInput(input, inputFile)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			dir, err := os.MkdirTemp("", "concertmaster-run-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			c, logger, err := load(withValue("CM_DATABASE_URL", "sqlite://"+filepath.Join(dir, "run.db")), withFallback("CM_LOG_LEVEL", "warn"))
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			rt, err := app.NewRuntime(ctx, c, logger)
			if err != nil {
				return err
			}
			defer func() {
				sctx, cancel := shutdownContext(c)
				defer cancel()
				_ = rt.Close(sctx)
			}()
			ids := map[string]string{}
			for _, path := range with {
				other, err := readDefinition(path, cmd.InOrStdin())
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				resolveNames(other, ids)
				w, err := rt.Service.CreateWorkflow(ctx, store.DefaultTenant, other)
				if err != nil {
					if printValidation(cmd.ErrOrStderr(), path, err) {
						return &exitError{code: 2, err: fmt.Errorf("the workflow in %s is not valid", path)}
					}
					return err
				}
				ids[other.Name] = w.ID
			}
			resolveNames(def, ids)
			w, err := rt.Service.CreateWorkflow(ctx, store.DefaultTenant, def)
			if err != nil {
				if printValidation(cmd.ErrOrStderr(), args[0], err) {
					return &exitError{code: 2, err: errors.New("the workflow is not valid")}
				}
				return err
			}
			if err := rt.Dispatcher.Start(ctx); err != nil {
				return err
			}
			r := &localRun{rt: rt, out: cmd.OutOrStdout(), quiet: asJSON, def: def}
			return r.run(ctx, w.ID, in, trigger, asJSON)
		},
	}
	cmd.Flags().StringVar(&input, "input", "", "the run's input as JSON, e.g. '{\"orderId\": 42}'")
	cmd.Flags().StringVar(&inputFile, "input-file", "", "read the input JSON from this file")
	cmd.Flags().StringVar(&trigger, "trigger", "", "trigger node to start from (default: the first manual trigger)")
	cmd.Flags().StringArrayVar(&with, "with", nil, "load another workflow file first (repeatable): flow.call nodes and settings.errorWorkflow may name it by its name")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the finished execution as JSON instead of a report")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "cancel the run after this long (e.g. 5m)")
	return cmd
}

// resolveNames replaces, in def, the flow.call workflowId and settings.errorWorkflow values that are
// the name of a workflow loaded with --with by that workflow's id.
func resolveNames(def *workflow.Definition, ids map[string]string) {
	if id, ok := ids[def.Settings.ErrorWorkflow]; ok {
		def.Settings.ErrorWorkflow = id
	}
	for i := range def.Nodes {
		n := &def.Nodes[i]
		if n.Type != "flow.call" {
			continue
		}
		if name, ok := n.Config["workflowId"].(string); ok {
			if id, ok := ids[name]; ok {
				n.Config["workflowId"] = id
			}
		}
	}
}

func readDefinition(path string, stdin io.Reader) (*workflow.Definition, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path) //nolint:gosec // the workflow file the user named on the command line
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	def, err := workflow.Decode(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return def, nil
}

func readInput(input, file string) (json.RawMessage, error) {
	if file != "" {
		b, err := os.ReadFile(file) //nolint:gosec // the input file the user named on the command line
		if err != nil {
			return nil, err
		}
		input = string(b)
	}
	if strings.TrimSpace(input) == "" {
		return json.RawMessage("{}"), nil
	}
	if !json.Valid([]byte(input)) {
		return nil, errors.New("--input is not valid JSON")
	}
	return json.RawMessage(input), nil
}

type localRun struct {
	rt    *app.Runtime
	out   io.Writer
	quiet bool
	def   *workflow.Definition
}

func (r *localRun) run(ctx context.Context, workflowID string, input json.RawMessage, trigger string, asJSON bool) error {
	id := service.NewID()
	sub := r.rt.Bus.Subscribe(event.Filter{TenantID: store.DefaultTenant, ExecutionID: id}, 4096)
	defer sub.Close()
	exec, _, err := r.rt.Service.StartExecution(ctx, store.DefaultTenant, service.StartParams{ID: id, WorkflowID: workflowID, Input: input, TriggerNode: trigger})
	if err != nil {
		var ie *service.InputError
		if errors.As(err, &ie) {
			return &exitError{code: 2, err: err}
		}
		return err
	}
	for {
		select {
		case m := <-sub.C:
			ev := m.Event
			if !r.quiet {
				r.progress(ctx, exec.ID, ev)
			}
			if ev.Type == engine.EventExecutionFinished {
				return r.report(ctx, exec.ID, asJSON)
			}
		case <-sub.Lagged:
			// The terminal fell more than the buffer behind: skip the rest of the progress lines
			// and wait for the end.
			if _, _, err := r.rt.Service.WaitExecution(ctx, store.DefaultTenant, exec.ID, 24*time.Hour); err != nil {
				return err
			}
			return r.report(ctx, exec.ID, asJSON)
		case <-ctx.Done():
			_, _ = r.rt.Service.CancelExecution(context.WithoutCancel(ctx), store.DefaultTenant, exec.ID, "")
			return &exitError{code: 1, err: fmt.Errorf("run stopped: %w", ctx.Err())}
		}
	}
}

func (r *localRun) nodeType(id string) string {
	if n := r.def.NodeByID(id); n != nil {
		return n.Type
	}
	return ""
}

// progress prints one line per finished, failed, retried, waiting or skipped node.
func (r *localRun) progress(ctx context.Context, execID string, ev store.Event) {
	var data map[string]any
	_ = json.Unmarshal(ev.Data, &data)
	label := fmt.Sprintf("%s (%s)", ev.NodeID, r.nodeType(ev.NodeID))
	switch ev.Type {
	case engine.EventNodeSucceeded:
		fmt.Fprintf(r.out, "✔ %-40s %6vms  → %v\n", label, data["durationMs"], data["port"])
		if run := r.nodeRun(ctx, execID, ev.NodeID, ev.Attempt); run != nil {
			fmt.Fprintf(r.out, "    %s\n", abbreviate(string(run.Output), 400))
		}
	case engine.EventNodeFailed:
		handled := ""
		if h, ok := data["handled"]; ok {
			handled = fmt.Sprintf(" (handled: %v)", h)
		}
		fmt.Fprintf(r.out, "✘ %-40s attempt %d: %v%s\n", label, ev.Attempt, data["error"], handled)
	case engine.EventNodeRetrying:
		fmt.Fprintf(r.out, "↻ %-40s attempt %d failed: %v; retrying in %vms\n", label, ev.Attempt, data["error"], data["delayMs"])
	case engine.EventNodeWaiting:
		wake, _ := data["wakeAt"].(string)
		if t, err := time.Parse(time.RFC3339Nano, wake); err == nil && time.Until(t) > 10*365*24*time.Hour {
			fmt.Fprintf(r.out, "⏸ %-40s waiting (no timeout)\n", label)
			break
		}
		fmt.Fprintf(r.out, "⏸ %-40s waiting until %v\n", label, wake)
	case engine.EventNodeSkipped:
		fmt.Fprintf(r.out, "– %-40s skipped\n", label)
	case engine.EventNodeCanceled:
		fmt.Fprintf(r.out, "■ %-40s canceled\n", label)
	case engine.EventNodeLog:
		fmt.Fprintf(r.out, "    [%v] %v\n", data["level"], data["message"])
	}
}

func (r *localRun) nodeRun(ctx context.Context, execID, nodeID string, attempt int) *store.NodeRun {
	runs, err := r.rt.Store.ListNodeRuns(ctx, store.DefaultTenant, execID)
	if err != nil {
		return nil
	}
	for i := range runs {
		if runs[i].NodeID == nodeID && runs[i].Attempt == attempt {
			return &runs[i]
		}
	}
	return nil
}

func (r *localRun) report(ctx context.Context, execID string, asJSON bool) error {
	exec, err := r.rt.Store.GetExecution(ctx, store.DefaultTenant, execID)
	if err != nil {
		return err
	}
	if asJSON {
		runs, err := r.rt.Store.ListNodeRuns(ctx, store.DefaultTenant, execID)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(r.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(api.NewExecutionDetail(exec, runs)); err != nil {
			return err
		}
	} else {
		d := ""
		if exec.StartedAt != nil && exec.FinishedAt != nil {
			d = " in " + exec.FinishedAt.Sub(*exec.StartedAt).Round(time.Millisecond).String()
		}
		fmt.Fprintf(r.out, "\nExecution %s %s%s\n", exec.ID, exec.Status, d)
		if exec.Error != nil {
			fmt.Fprintf(r.out, "Error: %s\n", exec.Error.Message)
		}
		if len(exec.Output) > 0 {
			var v any
			_ = json.Unmarshal(exec.Output, &v)
			b, _ := json.MarshalIndent(v, "", "  ")
			fmt.Fprintf(r.out, "Output:\n%s\n", b)
		}
	}
	if exec.Status != workflow.ExecutionSucceeded {
		return &exitError{code: 1, err: fmt.Errorf("execution %s", exec.Status)}
	}
	return nil
}

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
