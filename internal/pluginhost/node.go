package pluginhost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/pkg/plugin"
)

// Bounds of what a plugin's answer may record.
const (
	maxLogs          = 100
	maxLogBytes      = 8 << 10
	maxErrorBytes    = 8 << 10
	defaultMaxOutput = 16 << 20
)

// version is one loaded version of a plugin: its manifest, its runtime and its node types.
type version struct {
	ref      node.PluginRef
	manifest *plugin.Manifest
	dir      string
	rt       Runtime
	types    map[node.TypeName]*node.Type
	loadedAt time.Time
	// removed is set when the plugin's folder went away: nodes of this version that have not started
	// fail instead of running.
	removed atomic.Bool
}

// pluginNode is a node of a plugin type: its configuration is kept as JSON and sent to the plugin.
type pluginNode struct {
	info   *node.Info
	spec   *plugin.NodeSpec
	v      *version
	config json.RawMessage
}

// newNode returns the prototype of spec's type in version v (nil while checking a folder).
func newNode(spec *plugin.NodeSpec, v *version, m *plugin.Manifest) *pluginNode {
	info := &node.Info{
		Type: node.TypeName(spec.Type), Version: 1, Title: spec.Title, Category: spec.Category, Description: spec.Description,
		Icon: spec.Icon, Docs: spec.Docs, Schema: spec.Schema, Pure: spec.Pure,
		Inputs: ports(spec.Inputs), Outputs: ports(spec.Outputs),
	}
	if info.Docs == "" {
		info.Docs = "# " + spec.Title + "\n\n" + spec.Description
	}
	if v != nil {
		ref := v.ref
		info.Plugin = &ref
		if m != nil && info.Docs != "" {
			info.Docs += fmt.Sprintf("\n\n---\n\nFrom plugin **%s** %s (%s).", m.Name, m.Version, m.Kind)
		}
	}
	proto := &pluginNode{info: info, spec: spec, v: v}
	info.New = func() node.Node { return &pluginNode{info: info, spec: spec, v: v} }
	return proto
}

func ports(ps []plugin.Port) []node.PortSpec {
	out := make([]node.PortSpec, 0, len(ps))
	for _, p := range ps {
		out = append(out, node.PortSpec{Name: p.Name, Title: p.Title, Description: p.Description})
	}
	return out
}

// NodeInfo implements node.Node.
func (n *pluginNode) NodeInfo() node.Info { return *n.info }

// UnmarshalJSON keeps the configuration as it is, to send it to the plugin.
func (n *pluginNode) UnmarshalJSON(b []byte) error {
	n.config = append(json.RawMessage(nil), b...)
	return nil
}

// Execute implements node.Node: it sends the attempt to the plugin and turns its answer into the
// node's output, logs and error.
func (n *pluginNode) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	if n.v == nil {
		return node.Output{}, node.Permanent(errors.New("plugin node type without a loaded plugin"))
	}
	if n.v.removed.Load() {
		return node.Output{}, node.Permanent(&node.Error{Code: "plugin_removed",
			Message: fmt.Sprintf("node type %s is no longer available: plugin %s was removed from the plugin folder", n.spec.Type, n.v.ref.Name)})
	}
	input, err := json.Marshal(in.Data)
	if err != nil {
		return node.Output{}, node.Permanent(fmt.Errorf("encode input: %w", err))
	}
	config := n.config
	if len(config) == 0 {
		config = json.RawMessage("{}")
	}
	maxOut := in.Limits.MaxOutputBytes
	if maxOut <= 0 {
		maxOut = defaultMaxOutput
	}
	if in.Limits.Memory != nil {
		if err := in.Limits.Memory.Reserve(int64(len(input) + len(config))); err != nil {
			return node.Output{}, err
		}
	}
	req := &plugin.Request{Type: n.spec.Type, Config: config, Input: input, Execution: &plugin.Execution{
		ExecutionID: in.Execution.ExecutionID, WorkflowID: in.Execution.WorkflowID, WorkflowVersion: in.Execution.WorkflowVersion,
		NodeID: in.Execution.NodeID, Attempt: in.Execution.Attempt,
	}}
	// The host's outbound requests may use the one credential the configuration names.
	ctx = withCredentials(ctx, in.Credentials, n.credentialID())
	// The answer carries the output plus logs and envelope: allow some room beyond the output's limit.
	resp, err := n.v.rt.Call(ctx, req, Limits{MaxResponseBytes: maxOut + maxLogs*maxLogBytes + 64<<10})
	if err != nil {
		return node.Output{}, n.runtimeError(ctx, err)
	}
	n.record(ctx, in.Logger, resp.Logs)
	if resp.Error != nil {
		msg := resp.Error.Message
		if len(msg) > maxErrorBytes {
			msg = msg[:maxErrorBytes] + "…"
		}
		if msg == "" {
			msg = "the plugin reported an error without a message"
		}
		e := &node.Error{Message: msg, Code: resp.Error.Code}
		if resp.Error.Permanent {
			return node.Output{}, node.Permanent(e)
		}
		return node.Output{}, e
	}
	if int64(len(resp.Output)) > maxOut {
		return node.Output{}, node.Permanent(&node.Error{Code: "output_too_large", Message: fmt.Sprintf("the plugin's output is %d bytes, over the %d-byte limit (CM_MAX_OUTPUT_BYTES)", len(resp.Output), maxOut)})
	}
	if in.Limits.Memory != nil {
		if err := in.Limits.Memory.Reserve(2 * int64(len(resp.Output))); err != nil {
			return node.Output{}, err
		}
	}
	var value any
	if len(resp.Output) > 0 {
		if err := json.Unmarshal(resp.Output, &value); err != nil {
			return node.Output{}, node.Permanent(&node.Error{Code: "plugin_protocol", Message: "the plugin's output is not JSON: " + err.Error()})
		}
	}
	port := resp.Port
	if port == "" {
		port = "out"
	}
	return node.Emit(port, value), nil
}

// credentialID returns the configuration's top-level "credential" string, or "".
func (n *pluginNode) credentialID() string {
	var cfg struct {
		Credential string `json:"credential"`
	}
	if len(n.config) == 0 || !bytes.Contains(n.config, []byte(`"credential"`)) {
		return ""
	}
	if err := json.Unmarshal(n.config, &cfg); err != nil {
		return ""
	}
	return cfg.Credential
}

// runtimeError describes a failure of the plugin's runtime as the node's error.
func (n *pluginNode) runtimeError(ctx context.Context, err error) error {
	name := n.v.ref.Name
	switch {
	case ctx.Err() != nil:
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return &node.Error{Code: "timeout", Message: fmt.Sprintf("plugin %s did not answer in time: %v", name, err)}
	case errors.Is(err, ErrResponseTooLarge):
		return node.Permanent(&node.Error{Code: "output_too_large", Message: fmt.Sprintf("plugin %s: %v", name, err)})
	case errors.Is(err, ErrProtocol):
		return node.Permanent(&node.Error{Code: "plugin_protocol", Message: fmt.Sprintf("plugin %s: %v", name, err)})
	case errors.Is(err, ErrClosed):
		return &node.Error{Code: "plugin_unavailable", Message: fmt.Sprintf("plugin %s %s was unloaded while this node waited for it", name, n.v.ref.Version)}
	case errors.Is(err, ErrCrashed):
		return &node.Error{Code: "plugin_crashed", Message: fmt.Sprintf("plugin %s: %v", name, err)}
	}
	return &node.Error{Code: "plugin_failed", Message: fmt.Sprintf("plugin %s: %v", name, err)}
}

// record writes the plugin's log lines into the node run's logs, bounded.
func (n *pluginNode) record(ctx context.Context, logger *slog.Logger, logs []plugin.Log) {
	if logger == nil || len(logs) == 0 {
		return
	}
	for i, l := range logs {
		if i == maxLogs {
			logger.WarnContext(ctx, fmt.Sprintf("%d more log lines from the plugin were dropped", len(logs)-maxLogs))
			return
		}
		msg := l.Message
		if len(msg) > maxLogBytes {
			msg = msg[:maxLogBytes] + "…"
		}
		logger.Log(ctx, levelOf(l.Level), msg)
	}
}

func levelOf(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
