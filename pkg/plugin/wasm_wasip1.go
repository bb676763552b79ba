//go:build wasip1

package plugin

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"unsafe"
)

// The reactor ABI (docs/plugins.md): the host writes a Request into memory it got from cm_alloc and
// calls cm_call, which returns the Response's address and length packed as (ptr << 32) | len. The
// buffers stay reachable until the next call.
var (
	inBuf  []byte
	outBuf []byte
)

//go:wasmexport cm_alloc
func cmAlloc(size uint32) uint32 {
	inBuf = make([]byte, size)
	if size == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(inBuf))))
}

//go:wasmexport cm_call
func cmCall(ptr, size uint32) uint64 {
	var resp *Response
	var req Request
	if int(size) > len(inBuf) {
		resp = &Response{Error: &Error{Message: "request length exceeds the allocated buffer", Code: "invalid_request", Permanent: true}}
	} else if err := json.Unmarshal(inBuf[:size], &req); err != nil {
		resp = &Response{Error: &Error{Message: "request is not JSON: " + err.Error(), Code: "invalid_request", Permanent: true}}
	} else {
		resp = defaultMux.Serve(context.Background(), &req)
	}
	inBuf = nil
	b, err := marshal(resp)
	if err != nil {
		b = []byte(`{"error":{"message":"encode response failed","permanent":true}}`)
	}
	outBuf = b
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(outBuf))))<<32 | uint64(len(outBuf))
}

// Main serves one request read from stdin when the module runs as a WASI command (built without
// -buildmode=c-shared). A reactor module, the recommended build, never runs main.
func Main() {
	in, err := io.ReadAll(io.LimitReader(os.Stdin, 256<<20))
	var resp *Response
	var req Request
	if err != nil {
		resp = &Response{Error: &Error{Message: "read request: " + err.Error()}}
	} else if err := json.Unmarshal(in, &req); err != nil {
		resp = &Response{Error: &Error{Message: "request is not JSON: " + err.Error(), Permanent: true}}
	} else {
		resp = defaultMux.Serve(context.Background(), &req)
	}
	b, err := marshal(resp)
	if err != nil {
		b = []byte(`{"error":{"message":"encode response failed","permanent":true}}`)
	}
	_, _ = os.Stdout.Write(append(b, '\n'))
}

//go:wasmimport concertmaster http_request
func hostHTTPRequest(ptr unsafe.Pointer, size uint32) uint32

//go:wasmimport concertmaster result_read
func hostResultRead(ptr unsafe.Pointer)

// Fetch makes an outbound HTTP request through the host, which checks it against the plugin's network
// allowlist and the server's outbound guard. ctx is not used inside WebAssembly: the call's deadline
// bounds the request.
func Fetch(_ context.Context, req *HTTPRequest) (*HTTPResponse, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	n := hostHTTPRequest(unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b)))
	out := make([]byte, n)
	if n > 0 {
		hostResultRead(unsafe.Pointer(unsafe.SliceData(out)))
	}
	var resp HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, err
	}
	if resp.Error != "" {
		return nil, &FetchError{Message: resp.Error}
	}
	return &resp, nil
}
