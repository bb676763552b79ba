// Command hello is a well-behaved process plugin for the tests of pluginhost.Process, served by
// plugin.ServeProcess. Besides hello.greet it has node types that report on the process or misbehave
// on demand.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/concertmaster/concertmaster/pkg/plugin"
)

func main() {
	mux := plugin.NewMux()
	mux.Handle("hello.greet", greet)
	mux.Handle("test.block", block)
	mux.Handle("test.cancels", cancelCount)
	mux.Handle("test.concurrent", concurrent)
	mux.Handle("test.crash", crash)
	mux.Handle("test.env", env)
	mux.Handle("test.wait", wait)
	if err := plugin.ServeProcess(context.Background(), mux, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
}

func greet(_ context.Context, c *plugin.Call) (plugin.Result, error) {
	var cfg struct {
		Name string `json:"name"`
	}
	if err := c.DecodeConfig(&cfg); err != nil {
		return plugin.Result{}, plugin.Permanent(err)
	}
	c.Log("info", "greeting %s", cfg.Name)
	return plugin.Out(map[string]string{"greeting": "Hello, " + cfg.Name + "!"}), nil
}

var (
	mu       sync.Mutex
	inFlight int
	maxSeen  int
	arrived  = sync.NewCond(&mu)
	canceled int
)

// block waits for its cancel, then answers.
func block(ctx context.Context, _ *plugin.Call) (plugin.Result, error) {
	<-ctx.Done()
	mu.Lock()
	canceled++
	mu.Unlock()
	fmt.Fprintln(os.Stderr, "block: canceled")
	return plugin.Out("canceled"), nil
}

// cancelCount reports how many blocked calls were canceled.
func cancelCount(context.Context, *plugin.Call) (plugin.Result, error) {
	mu.Lock()
	defer mu.Unlock()
	return plugin.Out(canceled), nil
}

// concurrent holds each call until config.want calls are in flight together (or a second passed),
// and answers with the most calls it saw in flight at once.
func concurrent(_ context.Context, c *plugin.Call) (plugin.Result, error) {
	var cfg struct {
		Want int `json:"want"`
	}
	if err := c.DecodeConfig(&cfg); err != nil {
		return plugin.Result{}, err
	}
	mu.Lock()
	defer mu.Unlock()
	inFlight++
	maxSeen = max(maxSeen, inFlight)
	arrived.Broadcast()
	deadline := time.Now().Add(time.Second)
	for inFlight < cfg.Want && time.Now().Before(deadline) {
		t := time.AfterFunc(10*time.Millisecond, arrived.Broadcast)
		arrived.Wait()
		t.Stop()
	}
	seen := maxSeen
	inFlight--
	return plugin.Out(seen), nil
}

// crash ends the process in the middle of the call.
func crash(context.Context, *plugin.Call) (plugin.Result, error) {
	fmt.Fprintln(os.Stderr, "crash: about to exit")
	os.Exit(3)
	return plugin.Result{}, nil
}

// env answers with the process's environment.
func env(context.Context, *plugin.Call) (plugin.Result, error) {
	vars := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	return plugin.Out(vars), nil
}

// wait answers after config.ms milliseconds.
func wait(ctx context.Context, c *plugin.Call) (plugin.Result, error) {
	var cfg struct {
		Ms int `json:"ms"`
	}
	if err := c.DecodeConfig(&cfg); err != nil {
		return plugin.Result{}, err
	}
	select {
	case <-time.After(time.Duration(cfg.Ms) * time.Millisecond):
		return plugin.Out("waited"), nil
	case <-ctx.Done():
		return plugin.Result{}, ctx.Err()
	}
}
