package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow/validate"
)

// PluginResolver finds the node type of a plugin version that an execution started with, after the
// registry has moved on to another version or lost the plugin (ADR 0025). pluginhost.Manager
// implements it.
type PluginResolver interface {
	// Resolve returns the type name as the plugin version ref (node.PluginRef.String) defined it, or
	// an error that says, in words for the user, why that version cannot run any more.
	Resolve(name node.TypeName, ref string) (*node.Type, error)
}

// pluginPinner is implemented by stores that record the plugin versions an execution runs on.
type pluginPinner interface {
	// PinExecutionPlugins records pins as the execution's plugin versions unless it has some already,
	// and returns the ones recorded.
	PinExecutionPlugins(ctx context.Context, tenantID, executionID string, pins map[string]string) (map[string]string, error)
	// ExecutionPlugins returns the plugin versions recorded, nil when none were.
	ExecutionPlugins(ctx context.Context, tenantID, executionID string) (map[string]string, error)
}

// UnrunnableError is a plan that cannot run: a node type is gone, or the plugin version the execution
// started with is no longer loaded. Run fails the execution with its message.
type UnrunnableError struct{ Err error }

func (e *UnrunnableError) Error() string { return e.Err.Error() }
func (e *UnrunnableError) Unwrap() error { return e.Err }

// planFor returns the graph an execution runs: the current plan g, or, when the execution started on
// plugin versions that have since been replaced, the plan compiled with those versions. The first
// run of an execution records the plugin versions of its plan; later runs (after a wait, on another
// worker) read them back. When the current plan does not compile (planErr: a new plugin version
// refuses the configuration, or the plugin is gone), an execution that started on other versions still
// runs on them. Workflows without plugin types never touch the store here.
func (e *Engine) planFor(ctx context.Context, exec *store.Execution, g *validate.Graph, planErr error) (*validate.Graph, error) {
	if planErr == nil && len(g.Plugins) == 0 {
		return g, nil
	}
	pinner, ok := e.cfg.Store.(pluginPinner)
	if !ok {
		if planErr != nil {
			return nil, &UnrunnableError{Err: planErr}
		}
		return g, nil
	}
	var pins map[string]string
	var err error
	if planErr != nil {
		if exec.StartedAt == nil {
			return nil, &UnrunnableError{Err: planErr}
		}
		if pins, err = pinner.ExecutionPlugins(ctx, exec.TenantID, exec.ID); err != nil {
			return nil, fmt.Errorf("read plugin versions: %w", err)
		}
		if len(pins) == 0 {
			return nil, &UnrunnableError{Err: planErr}
		}
	} else {
		if pins, err = pinner.PinExecutionPlugins(ctx, exec.TenantID, exec.ID, g.Plugins); err != nil {
			return nil, fmt.Errorf("pin plugin versions: %w", err)
		}
		if maps.Equal(pins, g.Plugins) {
			return g, nil
		}
	}
	key := planKey(exec.TenantID, exec.WorkflowID, exec.WorkflowVersion) + "@" + pinKey(pins)
	if pg, ok := e.plans.GetIfPresent(key); ok {
		return pg, nil
	}
	types := make(map[node.TypeName]*node.Type, len(pins))
	for _, name := range slices.Sorted(maps.Keys(pins)) {
		if current, ok := e.cfg.Registry.Lookup(node.TypeName(name)); ok && current.Info.Plugin != nil && current.Info.Plugin.String() == pins[name] {
			continue
		}
		if e.cfg.Plugins == nil {
			return nil, &UnrunnableError{Err: fmt.Errorf("node type %s: plugin version %s, which this execution started with, is not loaded", name, pins[name])}
		}
		t, err := e.cfg.Plugins.Resolve(node.TypeName(name), pins[name])
		if err != nil {
			return nil, &UnrunnableError{Err: err}
		}
		types[node.TypeName(name)] = t
	}
	v, err := e.cfg.Store.GetWorkflowVersion(ctx, exec.TenantID, exec.WorkflowID, exec.WorkflowVersion)
	if err != nil {
		return nil, fmt.Errorf("load workflow version: %w", err)
	}
	pg, err := validate.Compile(&v.Definition, e.cfg.Registry, validate.Options{Limits: e.cfg.ExpressionLimits, Types: types})
	if err != nil {
		return nil, &UnrunnableError{Err: fmt.Errorf("compile workflow %s version %d with the plugin versions it started on: %w", exec.WorkflowID, exec.WorkflowVersion, err)}
	}
	e.plans.Set(key, pg)
	return pg, nil
}

func planKey(tenantID, workflowID string, version int) string {
	return tenantID + "/" + workflowID + "/" + fmt.Sprint(version)
}

// pinKey is a canonical text of pins, for the plan cache.
func pinKey(pins map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(pins)) {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(pins[k])
		b.WriteByte(';')
	}
	return b.String()
}

// isUnrunnable reports whether err means the execution cannot run at all.
func isUnrunnable(err error) bool {
	var u *UnrunnableError
	return errors.As(err, &u)
}
