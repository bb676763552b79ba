package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/concertmaster/concertmaster/internal/app"
	"github.com/concertmaster/concertmaster/internal/config"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/node/nodedoc"
)

func shutdownContext(c config.Config) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.ShutdownGrace)
}

// loadRegistry builds the node registry the configuration describes.
func loadRegistry(load loader) (*node.Registry, error) {
	c, _, err := load()
	if err != nil {
		return nil, err
	}
	return app.Registry(c)
}

func newNodesCmd(load loader) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{Use: "nodes", Short: "List and describe the registered node types"}
	list := &cobra.Command{
		Use: "list", Short: "List node types", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg, err := loadRegistry(load)
			if err != nil {
				return err
			}
			types := reg.List()
			if asJSON {
				out := make([]map[string]any, 0, len(types))
				for _, t := range types {
					out = append(out, describe(t))
				}
				return writeJSON(cmd, out)
			}
			sort.SliceStable(types, func(i, j int) bool { return types[i].Info.Category < types[j].Info.Category })
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TYPE\tCATEGORY\tTITLE\tOUTPUTS")
			for _, t := range types {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Info.Type, t.Info.Category, t.Info.Title, ports(t.Info.Outputs))
			}
			return tw.Flush()
		},
	}
	desc := &cobra.Command{
		Use: "describe TYPE", Short: "Describe one node type: ports, configuration fields and documentation", Args: cobra.ExactArgs(1),
		Long: "Describe one node type: its title, description, ports, every configuration field (name, type, whether it is\n" +
			"required, default, description, from its JSON Schema) and its documentation (Markdown), as docs/nodes/TYPE.md\n" +
			"shows them. --json prints the same with the whole configuration schema.",
		RunE: func(cmd *cobra.Command, args []string) error {
			reg, err := loadRegistry(load)
			if err != nil {
				return err
			}
			t, ok := reg.Lookup(node.TypeName(args[0]))
			if !ok {
				names := make([]string, 0)
				for _, t := range reg.List() {
					names = append(names, string(t.Info.Type))
				}
				return &exitError{code: 2, err: fmt.Errorf("unknown node type %q; known types: %s", args[0], strings.Join(names, ", "))}
			}
			if asJSON {
				return writeJSON(cmd, describe(t))
			}
			return nodedoc.WriteText(cmd.OutOrStdout(), t)
		},
	}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(list, desc)
	return cmd
}

func describe(t *node.Type) map[string]any {
	return map[string]any{
		"type": t.Info.Type, "version": t.Info.Version, "title": t.Info.Title, "category": t.Info.Category,
		"description": t.Info.Description, "icon": t.Info.Icon, "trigger": t.IsTrigger(), "inputs": t.Info.Inputs, "outputs": t.Info.Outputs,
		"configSchema": t.Info.Schema, "docs": t.Info.Docs,
	}
}

func ports(ps []node.PortSpec) string {
	if len(ps) == 0 {
		return "-"
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

func writeJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newMigrateCmd(load loader) *cobra.Command {
	return &cobra.Command{
		Use: "migrate", Short: "Apply pending database migrations", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, logger, err := load()
			if err != nil {
				return err
			}
			db, _ := config.ParseDatabaseURL(c.DatabaseURL)
			st, n, err := app.OpenStore(cmd.Context(), c.DatabaseURL, logger)
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }()
			where := db.Path
			if db.Driver == "postgres" {
				where = "PostgreSQL"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "applied %d migration(s); the %s schema (%s) is up to date\n", n, db.Driver, where)
			return nil
		},
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use: "version", Short: "Print the version", Args: cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			rev := ""
			if info, ok := debug.ReadBuildInfo(); ok {
				for _, s := range info.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						rev = " (" + s.Value[:12] + ")"
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "concertmaster %s%s %s/%s %s\n", version, rev, runtime.GOOS, runtime.GOARCH, runtime.Version())
		},
	}
}
