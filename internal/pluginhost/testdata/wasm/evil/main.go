// Command evil is a WebAssembly plugin that misbehaves on request, for the sandbox's tests.
package main

import (
	"context"
	"net"
	"os"
	"strings"

	"github.com/concertmaster/concertmaster/pkg/plugin"
)

var sink [][]byte

func init() {
	plugin.Handle("evil.loop", func(context.Context, *plugin.Call) (plugin.Result, error) {
		for n := 0; ; n++ {
			sink = sink[:0]
		}
	})
	plugin.Handle("evil.alloc", func(context.Context, *plugin.Call) (plugin.Result, error) {
		for {
			sink = append(sink, make([]byte, 1<<20))
		}
	})
	plugin.Handle("evil.trap", func(context.Context, *plugin.Call) (plugin.Result, error) {
		// A panic on another goroutine cannot be recovered by the handler: the Go runtime dies.
		block := make(chan int)
		go func() { panic("boom outside the handler") }()
		return plugin.Out(<-block), nil
	})
	plugin.Handle("evil.panic", func(context.Context, *plugin.Call) (plugin.Result, error) {
		panic("handler panics")
	})
	plugin.Handle("evil.file", func(context.Context, *plugin.Call) (plugin.Result, error) {
		b, err := os.ReadFile("/etc/passwd")
		if err != nil {
			return plugin.Out(map[string]any{"error": err.Error()}), nil
		}
		return plugin.Out(map[string]any{"read": len(b)}), nil
	})
	plugin.Handle("evil.socket", func(context.Context, *plugin.Call) (plugin.Result, error) {
		c, err := net.Dial("tcp", "127.0.0.1:5432")
		if err != nil {
			return plugin.Out(map[string]any{"error": err.Error()}), nil
		}
		c.Close()
		return plugin.Out(map[string]any{"connected": true}), nil
	})
	plugin.Handle("evil.env", func(context.Context, *plugin.Call) (plugin.Result, error) {
		return plugin.Out(map[string]any{"environ": os.Environ(), "home": os.Getenv("HOME"), "args": os.Args}), nil
	})
	plugin.Handle("evil.big", func(_ context.Context, c *plugin.Call) (plugin.Result, error) {
		var cfg struct {
			Size int `json:"size"`
		}
		_ = c.DecodeConfig(&cfg)
		return plugin.Out(strings.Repeat("x", cfg.Size)), nil
	})
	plugin.Handle("evil.print", func(_ context.Context, c *plugin.Call) (plugin.Result, error) {
		for i := 0; i < 100000; i++ {
			os.Stdout.WriteString("spam spam spam spam spam spam\n")
		}
		return plugin.Out("printed"), nil
	})
	plugin.Handle("evil.fetch", func(ctx context.Context, c *plugin.Call) (plugin.Result, error) {
		var cfg struct {
			URL string `json:"url"`
			// UseCredential is the credential id the plugin asks the host for (the node's own
			// credential field, or another one).
			UseCredential string `json:"useCredential"`
		}
		_ = c.DecodeConfig(&cfg)
		resp, err := plugin.Fetch(ctx, &plugin.HTTPRequest{Method: "GET", URL: cfg.URL, Credential: cfg.UseCredential})
		if err != nil {
			return plugin.Out(map[string]any{"error": err.Error()}), nil
		}
		return plugin.Out(map[string]any{"status": resp.Status, "body": resp.Body}), nil
	})
	plugin.Handle("evil.echo", func(_ context.Context, c *plugin.Call) (plugin.Result, error) {
		var in any
		_ = c.DecodeInput(&in)
		return plugin.Emit("out", map[string]any{"input": in, "execution": c.Execution}), nil
	})
}

func main() { plugin.Main() }
