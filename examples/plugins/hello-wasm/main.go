// Command hello-wasm is ConcertMaster's example WebAssembly plugin: node type hello.greet turns
// {"name": "Ada"} into {"greeting": "Hello, Ada!"}. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
package main

import (
	"context"
	"errors"
	"strings"

	"github.com/concertmaster/concertmaster/pkg/plugin"
)

func init() {
	plugin.Handle("hello.greet", greet)
}

func greet(_ context.Context, c *plugin.Call) (plugin.Result, error) {
	var cfg struct {
		Name string `json:"name"`
	}
	if err := c.DecodeConfig(&cfg); err != nil {
		return plugin.Result{}, plugin.Permanent(err)
	}
	name := strings.TrimSpace(cfg.Name)
	if name == "" {
		return plugin.Result{}, plugin.Permanent(errors.New("name is empty"))
	}
	c.Log("info", "greeting %s", name)
	return plugin.Out(map[string]any{"greeting": "Hello, " + name + "!"}), nil
}

func main() { plugin.Main() }
