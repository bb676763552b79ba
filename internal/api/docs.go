package api

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"
	"strings"
)

// docsPage renders /openapi.json in the browser with no third-party scripts, so that /docs works on
// machines without internet access.
//
//go:embed docs/index.html
var docsPage []byte

// docsCSP lets the page run its own inline script, by hash, and nothing else: no other script, no
// eval, no framing; it fetches /openapi.json from the server. Its generated markup uses style
// attributes, hence 'unsafe-inline' for styles (which run no code).
var docsCSP = "default-src 'none'; script-src " + strings.Join(inlineScriptHashes(docsPage), " ") +
	"; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func serveDocs(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", docsCSP)
	_, _ = w.Write(docsPage)
}

// inlineScriptHashes returns the CSP hash source ('sha256-…') of each inline <script> of page.
func inlineScriptHashes(page []byte) []string {
	var out []string
	rest := page
	for {
		start := bytes.Index(rest, []byte("<script>"))
		if start < 0 {
			return out
		}
		rest = rest[start+len("<script>"):]
		end := bytes.Index(rest, []byte("</script>"))
		if end < 0 {
			return out
		}
		sum := sha256.Sum256(rest[:end])
		out = append(out, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		rest = rest[end:]
	}
}
