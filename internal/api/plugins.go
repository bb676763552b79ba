package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/concertmaster/concertmaster/internal/pluginhost"
)

// Plugins is what the API shows and does of the process's plugins; *pluginhost.Manager is one.
type Plugins interface {
	Dir() string
	List() []pluginhost.Status
	Reload(ctx context.Context) error
}

// Plugin is one folder of the plugin directory.
type Plugin struct {
	Folder      string                  `json:"folder" doc:"The plugin's folder in the plugin directory (CM_PLUGIN_DIR)"`
	Name        string                  `json:"name" doc:"The plugin's name (the folder's name while no version was ever loaded)"`
	Version     string                  `json:"version,omitempty" doc:"The version in service; empty when none is"`
	Digest      string                  `json:"digest,omitempty" doc:"Identifies the content of the version in service"`
	Kind        string                  `json:"kind,omitempty" enum:"wasm,process" doc:"wasm (sandboxed WebAssembly) or process (a trusted executable)"`
	Description string                  `json:"description,omitempty"`
	Author      string                  `json:"author,omitempty"`
	Status      string                  `json:"status" enum:"active,refused" doc:"active: the folder's content serves; refused: it was refused (errors say why) and the earlier version, if any (version), still serves"`
	NodeTypes   []string                `json:"nodeTypes" doc:"The node types the version in service adds"`
	LoadedAt    *time.Time              `json:"loadedAt,omitempty" doc:"When the version in service was loaded"`
	Refused     string                  `json:"refusedVersion,omitempty" doc:"The version number the refused content declares, when it could be read"`
	RefusedAt   *time.Time              `json:"refusedAt,omitempty"`
	Errors      []PluginProblem         `json:"errors" doc:"Why the folder's content was refused, each with a JSON pointer into its plugin.json"`
	Retired     []string                `json:"retired" doc:"Replaced versions (name@version#digest) kept loaded for the executions that started on them"`
	Runtime     pluginhost.RuntimeStats `json:"runtime"`
}

// PluginProblem is one reason a plugin was refused.
type PluginProblem struct {
	Pointer string `json:"pointer" doc:"JSON pointer into plugin.json; empty for the folder as a whole"`
	Message string `json:"message"`
}

type listPluginsOutput struct {
	Body struct {
		Enabled bool     `json:"enabled" doc:"Whether this process loads plugins: false with CM_PLUGIN_DIR=off"`
		Dir     string   `json:"dir,omitempty" doc:"The plugin directory this process watches (CM_PLUGIN_DIR)"`
		Items   []Plugin `json:"items"`
	}
}

func toPlugin(s pluginhost.Status) Plugin {
	p := Plugin{Folder: s.Folder, Name: s.Name, Version: s.Version, Digest: s.Digest, Kind: s.Kind, Description: s.Description, Author: s.Author,
		Status: s.State, NodeTypes: nonNil(s.NodeTypes), Refused: s.Refused, Errors: []PluginProblem{}, Retired: nonNil(s.Retired), Runtime: s.Runtime}
	if !s.LoadedAt.IsZero() {
		t := s.LoadedAt.UTC()
		p.LoadedAt = &t
	}
	if !s.RefusedAt.IsZero() {
		t := s.RefusedAt.UTC()
		p.RefusedAt = &t
	}
	for _, pr := range s.Problems {
		p.Errors = append(p.Errors, PluginProblem{Pointer: pr.Pointer, Message: pr.Message})
	}
	return p
}

func (s *Server) listPlugins() *listPluginsOutput {
	out := &listPluginsOutput{}
	out.Body.Items = []Plugin{}
	if s.cfg.Plugins == nil {
		return out
	}
	out.Body.Enabled, out.Body.Dir = true, s.cfg.Plugins.Dir()
	for _, st := range s.cfg.Plugins.List() {
		out.Body.Items = append(out.Body.Items, toPlugin(st))
	}
	return out
}

func (s *Server) registerPlugins() {
	tags := []string{"Plugins"}
	huma.Register(s.api, huma.Operation{
		OperationID: "list-plugins", Method: http.MethodGet, Path: "/api/v1/plugins",
		Summary: "List plugins",
		Description: "Every plugin folder of the plugin directory (CM_PLUGIN_DIR) this process loaded or refused, by folder: its version in service, " +
			"kind, node types and runtime, and, for a refused folder, why, with JSON pointers into its plugin.json. Empty with CM_PLUGIN_DIR=off.",
		Tags: tags,
	}, func(ctx context.Context, _ *struct{}) (*listPluginsOutput, error) {
		return s.listPlugins(), nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "reload-plugins", Method: http.MethodPost, Path: "/api/v1/plugins/reload",
		Summary: "Reload plugins",
		Description: "Looks at the plugin directory now and loads every change at once, instead of within the second the watcher takes; " +
			"answers the plugins as List plugins does. A refused plugin is not an error of this request: its status says why. " +
			"It reloads this process only: every process watches its own plugin directory. With CM_PLUGIN_DIR=off there is nothing to load: " +
			"the answer is the empty list with enabled false.",
		Tags: tags,
	}, func(ctx context.Context, _ *struct{}) (*listPluginsOutput, error) {
		if s.cfg.Plugins == nil {
			return s.listPlugins(), nil
		}
		if err := s.cfg.Plugins.Reload(ctx); err != nil {
			return nil, err
		}
		return s.listPlugins(), nil
	})
}
