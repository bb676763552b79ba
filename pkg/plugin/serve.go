//go:build !wasip1

package plugin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// MaxLineBytes bounds one line of the process protocol in either direction.
const MaxLineBytes = 64 << 20

// Main serves the registered handlers as a process plugin on stdin and stdout, until stdin closes. It
// never returns normally: it exits the process. Standard output belongs to the protocol, so while Main
// serves, os.Stdout is standard error: a stray fmt.Println from a handler lands in the server's log
// instead of breaking the protocol.
func Main() {
	out := os.Stdout
	os.Stdout = os.Stderr
	if err := ServeProcess(context.Background(), defaultMux, os.Stdin, out); err != nil {
		fmt.Fprintln(os.Stderr, "plugin:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// ServeProcess reads requests from r, one JSON object per line, runs each in its own goroutine, and
// writes the responses to w, one per line, in the order they finish. A cancel request cancels the
// context of the request it names. A line that is not a request (not JSON, or longer than
// MaxLineBytes) is answered with an error whose code is "invalid_request", carrying the line's id when
// it could be read; blank lines are skipped. It returns when r ends, after the running requests have
// answered.
func ServeProcess(ctx context.Context, m *Mux, r io.Reader, w io.Writer) error {
	lines := &lineReader{r: bufio.NewReaderSize(r, 64<<10), max: MaxLineBytes}
	var (
		wmu sync.Mutex
		enc = newEncoder(w)
		wg  sync.WaitGroup
		cmu sync.Mutex
		// running holds the cancel function of each request in flight, by id.
		running = map[uint64]*context.CancelFunc{}
	)
	write := func(resp *Response) {
		wmu.Lock()
		defer wmu.Unlock()
		// A response that cannot be written means the server is gone; the process ends with stdin.
		_ = enc.Encode(resp)
	}
	for {
		line, err := lines.next()
		if errors.Is(err, errLineTooLong) {
			write(&Response{Error: &Error{Message: fmt.Sprintf("request line is over %d bytes", MaxLineBytes), Code: "invalid_request", Permanent: true}})
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			wg.Wait()
			return fmt.Errorf("read requests: %w", err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var req Request
		if err := json.Unmarshal(line, &req); err != nil {
			// A request with a field of the wrong type still has its id when that field was readable.
			write(&Response{ID: req.ID, Error: &Error{Message: "request is not valid: " + err.Error(), Code: "invalid_request", Permanent: true}})
			continue
		}
		if req.Cancel {
			cmu.Lock()
			if cancel := running[req.ID]; cancel != nil {
				(*cancel)()
			}
			cmu.Unlock()
			continue
		}
		rctx, cancelFunc := context.WithCancel(ctx)
		cancel := &cancelFunc
		cmu.Lock()
		running[req.ID] = cancel
		cmu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := m.Serve(rctx, &req)
			cmu.Lock()
			// A later request may have reused the id (a server bug); leave its entry alone.
			if running[req.ID] == cancel {
				delete(running, req.ID)
			}
			cmu.Unlock()
			cancelFunc()
			write(resp)
		}()
	}
	wg.Wait()
	return nil
}

// newEncoder writes one JSON value per line, leaving <, > and & as they are (see marshal).
func newEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// errLineTooLong is a line over the reader's maximum; the line was read to its end and dropped.
var errLineTooLong = errors.New("line too long")

// lineReader reads newline-terminated lines of at most max bytes, reusing one buffer.
type lineReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// next returns the next line without its line ending; the slice is valid until the following call. A
// line over max bytes is consumed and reported as errLineTooLong without holding more than max bytes.
// A last line without a newline is returned before io.EOF.
func (l *lineReader) next() ([]byte, error) {
	l.buf = l.buf[:0]
	tooLong := false
	for {
		chunk, err := l.r.ReadSlice('\n')
		if !tooLong {
			if len(l.buf)+len(chunk) > l.max+2 { // room for "\r\n"
				tooLong, l.buf = true, l.buf[:0]
			} else {
				l.buf = append(l.buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		line := bytes.TrimSuffix(bytes.TrimSuffix(l.buf, []byte("\n")), []byte("\r"))
		switch {
		case tooLong || len(line) > l.max:
			return nil, errLineTooLong
		case err != nil && len(l.buf) == 0:
			return nil, io.EOF
		}
		return line, nil
	}
}
