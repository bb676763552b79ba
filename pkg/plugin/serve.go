//go:build !wasip1

package plugin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
)

// MaxLineBytes bounds one line of the process protocol in either direction.
const MaxLineBytes = 64 << 20

// Main serves the registered handlers as a process plugin on stdin and stdout, until stdin closes. It
// never returns normally: it exits the process.
func Main() {
	if err := ServeProcess(context.Background(), defaultMux, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "plugin:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// ServeProcess reads requests from r, one JSON object per line, runs each in its own goroutine, and
// writes the responses to w, one per line, in the order they finish. A cancel request cancels the
// context of the request it names. It returns when r ends, after the running requests have answered.
func ServeProcess(ctx context.Context, m *Mux, r io.Reader, w io.Writer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	var (
		wmu     sync.Mutex
		enc     = json.NewEncoder(w)
		wg      sync.WaitGroup
		cmu     sync.Mutex
		cancels = map[uint64]context.CancelFunc{}
	)
	write := func(resp *Response) {
		wmu.Lock()
		defer wmu.Unlock()
		// A response that cannot be written means the server is gone; the process ends with stdin.
		_ = enc.Encode(resp)
	}
	for sc.Scan() {
		var req Request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			write(&Response{Error: &Error{Message: "request is not JSON: " + err.Error(), Code: "invalid_request"}})
			continue
		}
		if req.Cancel {
			cmu.Lock()
			if cancel := cancels[req.ID]; cancel != nil {
				cancel()
			}
			cmu.Unlock()
			continue
		}
		rctx, cancel := context.WithCancel(ctx)
		cmu.Lock()
		cancels[req.ID] = cancel
		cmu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := m.Serve(rctx, &req)
			cmu.Lock()
			delete(cancels, req.ID)
			cmu.Unlock()
			cancel()
			write(resp)
		}()
	}
	wg.Wait()
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read requests: %w", err)
	}
	return nil
}
