// Package web embeds the built web editor (web/dist, produced by `npm run build` through make) and
// serves it: hashed assets with long-lived cache headers, and index.html for every other path that
// asks for HTML, so that client-side routes survive a reload. Pages carry a strict
// Content-Security-Policy (AppCSP).
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// AppCSP is the Content-Security-Policy of the app's pages. Scripts, styles, fonts and API calls
// (fetch, WebSocket, EventSource) come from the server itself only, with no inline script, no inline
// <style> and no eval: the built app needs none (its theme bootstrap is /theme.js, React and React Flow
// set styles through the DOM, which CSP does not restrict). Images may also be data: URLs (the
// favicon, SVG icons). Nothing may frame the app, and forms and <base> cannot point elsewhere.
const AppCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

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

// Handler serves the app from fsys, or a page explaining how to build it when fsys holds no build.
func Handler(fsys fs.FS) http.Handler {
	if !Built(fsys) {
		return http.HandlerFunc(notBuilt)
	}
	files := http.FileServerFS(fsys)
	index, _ := fs.ReadFile(fsys, "index.html")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
				files.ServeHTTP(w, r)
				return
			}
			if strings.HasPrefix(name, "assets/") || !acceptsHTML(r) {
				http.NotFound(w, r)
				return
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", AppCSP)
		_, _ = w.Write(index)
	})
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
