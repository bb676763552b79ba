package pluginhost

import (
	"slices"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/pkg/plugin"
)

// Status is what the API shows of one plugin folder.
type Status struct {
	// Folder is the plugin's folder in the plugin directory.
	Folder string
	// Name, Version, Kind, Description and Author are the version in service's (or, when none is,
	// the refused one's name from its folder).
	Name, Version, Kind, Description, Author string
	// Digest identifies the version in service's content.
	Digest string
	// State is active (a version serves and the folder's content loaded) or refused (the folder's
	// content was refused: Problems say why; Version, when set, is the earlier version still serving).
	State string
	// NodeTypes are the types the version in service adds.
	NodeTypes []string
	// LoadedAt is when the version in service was loaded.
	LoadedAt time.Time
	// Refused is the refused version's number, Problems why, RefusedAt when.
	Refused   string
	Problems  plugin.Problems
	RefusedAt time.Time
	// Retired lists the replaced versions still kept for executions that started on them.
	Retired []string
	// Runtime describes the version in service's runtime.
	Runtime RuntimeStats
}

// States of a plugin folder.
const (
	StateActive  = "active"
	StateRefused = "refused"
)

// runtimeStats describes a runtime for the API.
func runtimeStats(rt Runtime) RuntimeStats {
	switch r := rt.(type) {
	case *Wasm:
		return r.Stats()
	case *Process:
		ps := r.Stats()
		return RuntimeStats{Mode: "process", Running: ps.Running, PID: ps.PID, Restarts: ps.Restarts, InFlight: ps.InFlight, LastError: ps.LastError}
	}
	return RuntimeStats{}
}

// List returns the status of every plugin folder, by folder name.
func (m *Manager) List() []Status {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Status, 0, len(m.entries))
	for _, e := range m.entries {
		s := Status{Folder: e.folder, Name: e.folder, State: StateActive}
		if v := e.current; v != nil {
			s.Name, s.Version, s.Kind, s.Digest = v.ref.Name, v.ref.Version, v.ref.Kind, v.ref.Digest
			s.Description, s.Author, s.LoadedAt = v.manifest.Description, v.manifest.Author, v.loadedAt
			for name := range v.types {
				s.NodeTypes = append(s.NodeTypes, string(name))
			}
			slices.Sort(s.NodeTypes)
			s.Runtime = runtimeStats(v.rt)
		}
		for _, r := range e.retired {
			s.Retired = append(s.Retired, r.ref.String())
		}
		if r := e.refused; r != nil {
			s.State, s.Refused, s.Problems, s.RefusedAt = StateRefused, r.version, r.problems, r.at
			if e.current == nil {
				// Nothing serves: what could be read of the refused plugin.json describes it.
				s.Kind, s.Description, s.Author = r.kind, r.description, r.author
			}
		}
		if e.current == nil && e.refused == nil {
			// Seen but not loaded yet (settling).
			continue
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Folder, b.Folder) })
	return out
}
