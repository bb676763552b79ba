// Package plugin is ConcertMaster's plugin kit: the manifest a plugin folder declares (plugin.json), the
// JSON protocol the server speaks with a plugin, and the helpers to write one in Go.
//
// A plugin adds node types. It is a folder holding plugin.json and an implementation of one of two kinds:
//
//   - wasm (the default): a WebAssembly module (WASI preview 1) that the server runs in a sandbox with no
//     file system, no environment and no network except through the host's guarded HTTP function. Build a
//     Go plugin with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm.
//   - process: an executable the server keeps running and talks to over stdin and stdout, one JSON
//     object per line. Process plugins are trusted: they run with the server's rights.
//
// The same Go source serves both kinds: register handlers in init and call Main from main.
//
//	func init() {
//		plugin.Handle("hello.greet", func(ctx context.Context, c *plugin.Call) (plugin.Result, error) {
//			var cfg struct{ Name string `json:"name"` }
//			if err := c.DecodeConfig(&cfg); err != nil {
//				return plugin.Result{}, plugin.Permanent(err)
//			}
//			return plugin.Out(map[string]any{"greeting": "Hello, " + cfg.Name + "!"}), nil
//		})
//	}
//
//	func main() { plugin.Main() }
//
// docs/plugins.md describes the manifest, both protocols and the limits in full.
package plugin
