//go:build !wasip1

package plugin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxFetchBytes bounds a response body Fetch reads.
const maxFetchBytes = 16 << 20

// Fetch makes an outbound HTTP request. In a process plugin, which is trusted, it is a plain HTTP
// request from the plugin's process; in a WebAssembly plugin the host makes it.
func Fetch(ctx context.Context, req *HTTPRequest) (*HTTPResponse, error) {
	if req.TimeoutMs > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.TimeoutMs)*time.Millisecond)
		defer cancel()
	}
	if req.Credential != "" {
		return nil, &FetchError{Message: "credentials are applied by the server to WebAssembly plugins' requests only; a process plugin is given none"}
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	hr, err := http.NewRequestWithContext(ctx, method, req.URL, strings.NewReader(req.Body))
	if err != nil {
		return nil, &FetchError{Message: err.Error()}
	}
	for k, v := range req.Headers {
		hr.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		return nil, &FetchError{Message: err.Error()}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxFetchBytes+1))
	if err != nil {
		return nil, &FetchError{Message: err.Error()}
	}
	if len(body) > maxFetchBytes {
		return nil, &FetchError{Message: fmt.Sprintf("response body is over %d bytes", maxFetchBytes)}
	}
	out := &HTTPResponse{Status: res.StatusCode, Headers: map[string]string{}, Body: string(body)}
	for k := range res.Header {
		out.Headers[strings.ToLower(k)] = res.Header.Get(k)
	}
	return out, nil
}
