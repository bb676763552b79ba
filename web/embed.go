// Package web embeds the built web editor (web/dist, produced by `npm run build` through make) and
// serves it: hashed assets with long-lived cache headers, and index.html for every other path that
// asks for HTML, so that client-side routes survive a reload. Pages carry a strict
// Content-Security-Policy (AppCSP).
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzhttp"
)

//go:embed all:dist
var dist embed.FS

// AppCSP is the Content-Security-Policy of the app's files. Scripts, styles, fonts and API calls
// (fetch, WebSocket, EventSource) come from the server itself only, with no inline script and no eval
// (the theme bootstrap is /theme.js). Images may also be data: URLs (the favicon, SVG icons). Nothing
// may frame the app, and forms and <base> cannot point elsewhere. Pages get PageCSP, which adds what
// the expression editor (CodeMirror) needs for its styles.
const AppCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// PageCSP is AppCSP for one page view, with its nonce (ADR 0026): a <style> element may be inline
// only with the nonce (CodeMirror writes its theme into one, given EditorView.cspNonce), and style
// attributes may be inline (CodeMirror sets some; React and React Flow set styles through the DOM,
// which CSP does not restrict). Scripts stay 'self' only.
func PageCSP(nonce string) string {
	return strings.Replace(AppCSP, "style-src 'self';", "style-src 'self' 'nonce-"+nonce+"'; style-src-attr 'unsafe-inline';", 1)
}

// newNonce returns 128 random bits, base64-encoded, for one page's PageCSP.
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.StdEncoding.EncodeToString(b[:])
}

// withNonce puts nonce into index.html as <meta name="csp-nonce">, which the app reads and hands to
// the code editor.
func withNonce(index []byte, nonce string) []byte {
	meta := []byte(`<meta name="csp-nonce" content="` + nonce + `">`)
	i := bytes.Index(index, []byte("</head>"))
	if i < 0 {
		return append(append([]byte{}, meta...), index...)
	}
	out := make([]byte, 0, len(index)+len(meta))
	out = append(out, index[:i]...)
	out = append(out, meta...)
	return append(out, index[i:]...)
}

// notBuiltCSP is the policy of the page shown when the app was not built: no script, one inline
// style attribute.
const notBuiltCSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// FS returns the built app, rooted at dist.
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err)
	}
	return sub
}

// Built reports whether the app was built (dist holds index.html).
func Built(fsys fs.FS) bool {
	_, err := fs.Stat(fsys, "index.html")
	return err == nil
}

// gzipped is one hashed asset, compressed once, on its first request.
type gzipped struct {
	once sync.Once
	data []byte
}

// compressedAssets indexes the hashed scripts and styles of fsys, to be compressed on first use.
func compressedAssets(fsys fs.FS) map[string]*gzipped {
	out := map[string]*gzipped{}
	entries, _ := fs.ReadDir(fsys, "assets")
	for _, e := range entries {
		if ext := path.Ext(e.Name()); !e.IsDir() && (ext == ".js" || ext == ".css" || ext == ".svg" || ext == ".json") {
			out["assets/"+e.Name()] = &gzipped{}
		}
	}
	return out
}

// serveGzipped answers with the compressed asset; false when it cannot be read (served plainly then).
func serveGzipped(w http.ResponseWriter, r *http.Request, fsys fs.FS, name string, a *gzipped) bool {
	a.once.Do(func() {
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(raw); err == nil && zw.Close() == nil {
			a.data = buf.Bytes()
		}
	})
	if a.data == nil {
		return false
	}
	h := w.Header()
	h.Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	h.Set("Content-Encoding", "gzip")
	h.Set("Content-Length", strconv.Itoa(len(a.data)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(a.data)
	}
	return true
}

// Handler serves the app from fsys, or a page explaining how to build it when fsys holds no build.
// Responses are gzip-compressed for clients that accept it (the scripts and styles shrink about
// threefold); the hashed assets are compressed once each, on their first request.
func Handler(fsys fs.FS) http.Handler {
	if !Built(fsys) {
		return http.HandlerFunc(notBuilt)
	}
	files := http.FileServerFS(fsys)
	index, _ := fs.ReadFile(fsys, "index.html")
	assets := compressedAssets(fsys)
	return gzhttp.GzipHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name != "" && name != "index.html" {
			if st, err := fs.Stat(fsys, name); err == nil && !st.IsDir() {
				if strings.HasPrefix(name, "assets/") {
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				} else {
					w.Header().Set("Cache-Control", "no-cache")
				}
				w.Header().Set("Content-Security-Policy", AppCSP)
				w.Header().Add("Vary", "Accept-Encoding")
				if a := assets[name]; a != nil && acceptsGzip(r) && serveGzipped(w, r, fsys, name, a) {
					return
				}
				files.ServeHTTP(w, r)
				return
			}
			if strings.HasPrefix(name, "assets/") || !acceptsHTML(r) {
				http.NotFound(w, r)
				return
			}
		}
		nonce := newNonce()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", PageCSP(nonce))
		_, _ = w.Write(withNonce(index, nonce))
	}))
}

func acceptsGzip(r *http.Request) bool {
	for _, enc := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(enc), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func acceptsHTML(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return accept == "" || strings.Contains(accept, "text/html") || strings.Contains(accept, "*/*")
}

func notBuilt(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", notBuiltCSP)
	_, _ = w.Write([]byte(`<!doctype html><meta charset="utf-8"><title>ConcertMaster</title>
<body style="font:16px system-ui;max-width:640px;margin:60px auto;line-height:1.5">
<h1>ConcertMaster</h1>
<p>The API is running. This binary was built without the web editor; <code>make run</code> builds it.</p>
<p>API reference: <a href="/docs">/docs</a> · OpenAPI: <a href="/openapi.json">/openapi.json</a> · Health: <a href="/healthz">/healthz</a></p>
</body>`))
}
