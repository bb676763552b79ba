package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/concertmaster/concertmaster/internal/app"
	"github.com/concertmaster/concertmaster/internal/config"
	"github.com/concertmaster/concertmaster/internal/plugin/scaffold"
	"github.com/concertmaster/concertmaster/internal/pluginhost"
	"github.com/concertmaster/concertmaster/pkg/plugin"
)

func newPluginCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "plugin", Short: "Create and check plugins (docs/plugins.md)"}
	cmd.AddCommand(newPluginNewCmd(), newPluginValidateCmd())
	return cmd
}

func newPluginNewCmd() *cobra.Command {
	var lang, dir, sdk string
	cmd := &cobra.Command{
		Use:   "new --lang go|python NAME",
		Short: "Create a plugin folder with one example node type, NAME.hello",
		Long: "Create a plugin folder that works as it is: plugin.json, a README and one node type, NAME.hello, that turns\n" +
			"{\"name\": \"Ada\"} into {\"greeting\": \"Hello, Ada!\"}.\n\n" +
			"  --lang go      a WebAssembly plugin: main.go with the plugin kit (pkg/plugin). Outside ConcertMaster's own\n" +
			"                 module it gets a go.mod that builds against a ConcertMaster checkout (--sdk, else the one\n" +
			"                 holding the current folder) through a replace directive.\n" +
			"  --lang python  a process plugin: main.py and the helper concertmaster_plugin.py.\n\n" +
			"NAME is lowercase letters, digits and dashes; the node types' family is NAME with dashes as underscores.\n" +
			"The folder (--dir, default ./NAME) must not exist or be empty.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			wd, _ := os.Getwd()
			res, err := scaffold.Create(scaffold.Options{
				Name: args[0], Lang: lang, Dir: cmp.Or(dir, args[0]), SDK: sdk, WorkDir: wd, Version: version,
			})
			var invalid *scaffold.InvalidError
			if errors.As(err, &invalid) {
				return &exitError{code: 2, err: err}
			}
			if err != nil {
				return fmt.Errorf("create plugin: %w", err)
			}
			out := cmd.OutOrStdout()
			kind := "Go, WebAssembly"
			if lang == scaffold.LangPython {
				kind = "Python, process"
			}
			fmt.Fprintf(out, "Created plugin %s (%s) in %s: %s\n", args[0], kind, res.Dir, strings.Join(res.Files, ", "))
			fmt.Fprintf(out, "Node type %s. Next:\n  cd %s\n", res.Type, shown(res.Dir))
			if res.Build != "" {
				fmt.Fprintf(out, "  %s\n", res.Build)
			}
			fmt.Fprintf(out, "  concertmaster plugin validate .\nthen copy the folder into CM_PLUGIN_DIR.\n")
			if res.Warning != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "concertmaster: warning: %s\n", res.Warning)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&lang, "lang", "", "the plugin's language: go (WebAssembly) or python (process)")
	cmd.Flags().StringVar(&dir, "dir", "", "the folder to create (default ./NAME)")
	cmd.Flags().StringVar(&sdk, "sdk", "", "a ConcertMaster checkout a Go plugin builds against (default: the one holding the current folder)")
	_ = cmd.MarkFlagRequired("lang")
	return cmd
}

func newPluginValidateCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate DIR",
		Short: "Check a plugin folder as the server would load it",
		Long: "Check a plugin folder as the server would load it: plugin.json (every field and bound), each node type's\n" +
			"configuration schema, that no type is a built-in one, and the WebAssembly module (compiled and started) or\n" +
			"the process command. Prints what the plugin declares and every problem with its JSON pointer into\n" +
			"plugin.json; exits with 1 when there are problems. Build a WebAssembly plugin before validating it.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The built-in types' names do not depend on the configuration: the defaults give them all.
			builtins, err := app.Registry(config.Default())
			if err != nil {
				return err
			}
			m, problems, err := pluginhost.CheckAgainst(cmd.Context(), args[0], builtins)
			if err != nil {
				return fmt.Errorf("check plugin %s: %w", args[0], err)
			}
			if asJSON {
				if problems == nil {
					problems = plugin.Problems{}
				}
				if err := writeJSON(cmd, map[string]any{"manifest": m, "problems": problems}); err != nil {
					return err
				}
			} else {
				printPlugin(cmd.OutOrStdout(), m, problems)
			}
			if len(problems) > 0 {
				noun := "problems"
				if len(problems) == 1 {
					noun = "problem"
				}
				return &exitError{code: 1, err: fmt.Errorf("plugin %s has %d %s", args[0], len(problems), noun)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"manifest": …, "problems": […]} as JSON`)
	return cmd
}

// printPlugin prints what m declares (when it could be read) and every problem.
func printPlugin(w io.Writer, m *plugin.Manifest, problems plugin.Problems) {
	if m != nil {
		fmt.Fprintf(w, "%s %s: %s plugin", m.Name, m.Version, m.Kind)
		switch {
		case m.Wasm != nil:
			fmt.Fprintf(w, " (module %s, %d MiB, %d instances)", m.Wasm.Module, m.Wasm.MemoryMiB, m.Wasm.Instances)
		case m.Process != nil:
			fmt.Fprintf(w, " (command %s, %d at once)", strings.Join(m.Process.Command, " "), m.Process.Concurrency)
		}
		fmt.Fprintf(w, ", calls time out after %d ms\n", m.TimeoutMs)
		if m.Description != "" {
			fmt.Fprintf(w, "%s\n", m.Description)
		}
		if m.Network != nil {
			fmt.Fprintf(w, "Network: %s\n", strings.Join(m.Network.Hosts, ", "))
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TYPE\tTITLE\tINPUTS\tOUTPUTS\tPURE")
		for _, n := range m.Nodes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\n", n.Type, n.Title, portNames(n.Inputs), portNames(n.Outputs), n.Pure)
		}
		_ = tw.Flush()
	}
	if len(problems) == 0 {
		fmt.Fprintln(w, "No problems.")
		return
	}
	fmt.Fprintf(w, "Problems:\n")
	for _, p := range problems {
		ptr := p.Pointer
		if ptr == "" {
			ptr = "plugin.json"
		}
		// A schema's compile error spans lines: keep them under their pointer.
		fmt.Fprintf(w, "  %s: %s\n", ptr, strings.ReplaceAll(p.Message, "\n", "\n    "))
	}
}

func portNames(ps []plugin.Port) string {
	if len(ps) == 0 {
		return "-"
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return strings.Join(names, ",")
}

// shown is dir relative to the current folder when that is shorter.
func shown(dir string) string {
	wd, err := os.Getwd()
	if err != nil {
		return dir
	}
	if rel, err := filepath.Rel(wd, dir); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return dir
}
