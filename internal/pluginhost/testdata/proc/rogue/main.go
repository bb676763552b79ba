// Command rogue is a process plugin that breaks the protocol on demand, for the tests of
// pluginhost.Process. Its node types: rogue.echo answers properly; rogue.hang never answers and
// reports its cancel on stderr; rogue.garbage answers a line that is not JSON; rogue.wrongid answers
// another id; rogue.flood writes config.bytes bytes as one answer line (config.newline ends it) or,
// with bytes 0, writes without end.
//
// Flags: -exit-at-start appends a line to the file "starts" and exits with status 2; -stubborn ignores
// SIGTERM and keeps running after its stdin closes.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

type request struct {
	ID     uint64 `json:"id"`
	Cancel bool   `json:"cancel"`
	Type   string `json:"type"`
	Config struct {
		Bytes   int  `json:"bytes"`
		Newline bool `json:"newline"`
	} `json:"config"`
}

var outMu sync.Mutex

func writeOut(s string) {
	outMu.Lock()
	defer outMu.Unlock()
	_, _ = os.Stdout.WriteString(s)
}

func main() {
	exitAtStart := flag.Bool("exit-at-start", false, "append to ./starts and exit")
	stubborn := flag.Bool("stubborn", false, "ignore SIGTERM and the end of stdin")
	flag.Parse()
	if *exitAtStart {
		f, err := os.OpenFile("starts", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err == nil {
			fmt.Fprintln(f, os.Getpid())
			_ = f.Close()
		}
		fmt.Fprintln(os.Stderr, "rogue: refusing to start")
		os.Exit(2)
	}
	if *stubborn {
		signal.Ignore(syscall.SIGTERM)
	}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var req request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			fmt.Fprintln(os.Stderr, "rogue: bad request:", err)
			continue
		}
		if req.Cancel {
			fmt.Fprintf(os.Stderr, "rogue: cancel %d received\n", req.ID)
			continue
		}
		go serve(req)
	}
	if *stubborn {
		for {
			time.Sleep(time.Hour)
		}
	}
}

func serve(req request) {
	switch req.Type {
	case "rogue.echo":
		writeOut(fmt.Sprintf(`{"id":%d,"output":"echo"}`+"\n", req.ID))
	case "rogue.hang":
		fmt.Fprintf(os.Stderr, "rogue: hanging on %d\n", req.ID)
	case "rogue.garbage":
		writeOut("this is not JSON\n")
	case "rogue.wrongid":
		writeOut(fmt.Sprintf(`{"id":%d,"output":"wrong"}`+"\n", req.ID+1000))
	case "rogue.flood":
		flood(req)
	default:
		writeOut(fmt.Sprintf(`{"id":%d,"error":{"message":"unknown type"}}`+"\n", req.ID))
	}
}

// flood writes one answer line of req.Config.Bytes bytes, or bytes without end when it is 0.
func flood(req request) {
	outMu.Lock()
	defer outMu.Unlock()
	chunk := strings.Repeat("x", 64<<10)
	head := fmt.Sprintf(`{"id":%d,"output":"`, req.ID)
	if _, err := os.Stdout.WriteString(head); err != nil {
		return
	}
	for n := len(head) + 3; req.Config.Bytes == 0 || n < req.Config.Bytes; n += len(chunk) {
		if _, err := os.Stdout.WriteString(chunk); err != nil {
			return
		}
	}
	if req.Config.Newline {
		_, _ = os.Stdout.WriteString(`"}` + "\n")
	}
}
