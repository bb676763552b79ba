package api

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/store"
)

// HTTP caching of reads (docs/adr/0019-http-caching.md): every cacheable GET answers a strong ETag
// and a Cache-Control, and answers 304 Not Modified, without a body, to an If-None-Match that
// matches, after the same authorization and tenant-scoped read as a 200.

// Cache-Control values.
const (
	// cacheRevalidate is for tenant data that changes (workflows, lists, node types): a browser may
	// keep it but asks again every time, with If-None-Match; shared caches never store it.
	cacheRevalidate = "private, no-cache"
	// cacheImmutable is for a workflow version, which never changes: the browser keeps it a year
	// without asking. Vary: Authorization keeps one caller's copy from answering another's request
	// in a shared browser profile, since such a request never reaches the server's authorization.
	cacheImmutable = "private, max-age=31536000, immutable"
)

// varyAuthorization is the Vary of answers a browser reuses without asking the server.
var varyAuthorization = []string{"Authorization"}

// ConditionalRead is the If-None-Match of a cacheable read, embedded in its input. Resolve joins every If-None-Match field
// line of the request (RFC 9110 §5.3: a list may span lines); huma alone would read the first.
type ConditionalRead struct {
	IfNoneMatch string `header:"If-None-Match" doc:"Entity tags of the copies the client holds (or *): a match answers 304 Not Modified without a body. Compared weakly (W/ is ignored); a malformed value is ignored."`
}

// Resolve implements huma.Resolver.
func (c *ConditionalRead) Resolve(ctx huma.Context) []error {
	var lines []string
	ctx.EachHeader(func(name, value string) {
		if strings.EqualFold(name, "If-None-Match") {
			lines = append(lines, value)
		}
	})
	c.IfNoneMatch = strings.Join(lines, ",")
	return nil
}

// notModified reports whether the client's copy tagged etag is current: If-None-Match is "*" or
// lists etag.
func (c *ConditionalRead) notModified(etag string) bool {
	return noneMatch(c.IfNoneMatch, etag)
}

// noneMatch reports whether an If-None-Match value matches etag under the weak comparison RFC 9110
// §13.1.2 prescribes for it: "*" matches any current representation, and a listed tag matches when
// its opaque part equals etag's, W/ or not. A value that does not parse matches nothing (the read
// answers 200), so that garbage never yields a 304. The scan is linear in the value and allocates
// nothing; the server bounds the header's size.
func noneMatch(header, etag string) bool {
	want := opaqueTag(etag)
	s := strings.TrimSpace(header)
	if s == "" || want == "" {
		return false
	}
	if s == "*" {
		return true
	}
	matched, tags := false, 0
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return matched && tags > 0
		}
		if s[0] == ',' {
			s = s[1:]
			continue
		}
		s = strings.TrimPrefix(s, "W/")
		if s == "" || s[0] != '"' {
			return false
		}
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return false
		}
		tag := s[1 : 1+end]
		if !validOpaque(tag) {
			return false
		}
		tags++
		matched = matched || tag == want
		s = strings.TrimLeft(s[2+end:], " \t")
		if s != "" && s[0] != ',' {
			return false
		}
	}
}

// opaqueTag returns the text between the quotes of an entity tag, without W/.
func opaqueTag(etag string) string {
	etag = strings.TrimPrefix(etag, "W/")
	if len(etag) < 2 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		return ""
	}
	return etag[1 : len(etag)-1]
}

// validOpaque reports whether tag holds only etagc characters (RFC 9110 §8.8.3: visible ASCII but
// the double quote, and obs-text).
func validOpaque(tag string) bool {
	for i := range len(tag) {
		if c := tag[i]; c < 0x21 || c == '"' || c == 0x7f {
			return false
		}
	}
	return true
}

// tagHasher builds the hash part of an entity tag from the values a representation depends on. Each
// part is length-prefixed, so that no two lists of parts hash alike by shifting text between parts.
type tagHasher struct{ buf []byte }

func newTagHasher(kind string) *tagHasher {
	h := &tagHasher{buf: make([]byte, 0, 256)}
	return h.add(kind)
}

func (h *tagHasher) add(parts ...string) *tagHasher {
	for _, p := range parts {
		h.buf = binary.AppendUvarint(h.buf, uint64(len(p)))
		h.buf = append(h.buf, p...)
	}
	return h
}

func (h *tagHasher) addInt(n int) *tagHasher { return h.add(strconv.Itoa(n)) }

func (h *tagHasher) addBool(b bool) *tagHasher { return h.add(strconv.FormatBool(b)) }

// sum returns 16 hex digits: the first 64 bits of SHA-256. Not a secret: the tags only tell apart
// the states of one resource, and a 304 comes after the same authorization as a 200.
func (h *tagHasher) sum() string {
	d := sha256.Sum256(h.buf)
	return hex.EncodeToString(d[:8])
}

// workflowTagHash is the hash part of a workflow's ETag. A workflow's representation is fixed by its
// version (name, description, definition and timestamps are saved with it) and its active flag,
// which changes without a new version; the tenant and id make the tag of one workspace's workflow
// useless in another (the list's URL is the same for every workspace).
func workflowTagHash(tenantID, id string, version int, active bool) string {
	return newTagHasher("workflow").add(tenantID, id).addInt(version).addBool(active).sum()
}

// workflowETag is the ETag of a workflow: "<version>-<hash>". If-Match accepts it (and the bare
// "<version>" earlier servers issued), comparing the version: see parseIfMatch.
func workflowETag(tenantID string, w *store.Workflow) string {
	return `"` + strconv.Itoa(w.Version) + "-" + workflowTagHash(tenantID, w.ID, w.Version, w.Active) + `"`
}

// versionETag is the ETag of one workflow version, which never changes.
func versionETag(tenantID string, v *store.WorkflowVersion) string {
	return `"` + strconv.Itoa(v.Version) + "-" + newTagHasher("workflow-version").add(tenantID, v.WorkflowID).addInt(v.Version).sum() + `"`
}

// workflowListETag is the ETag of a page of workflows: the query, and each item's id, version and
// active flag (which fix the rest of the summary), and the next cursor.
func workflowListETag(tenantID string, params store.ListWorkflowsParams, page *store.Page[store.Workflow]) string {
	h := newTagHasher("workflow-list").add(tenantID, params.Name, params.Tag, params.Cursor).addInt(params.Limit)
	for i := range page.Items {
		w := &page.Items[i]
		h.add(w.ID).addInt(w.Version).addBool(w.Active)
	}
	return `"` + h.add(page.NextCursor).sum() + `"`
}

// versionListETag is the ETag of a page of a workflow's versions: versions never change, so the
// numbers listed, their authors' names and the next cursor fix the page.
func versionListETag(tenantID, id string, params store.ListVersionsParams, page *store.Page[store.WorkflowVersion], authors map[string]*Author) string {
	h := newTagHasher("workflow-version-list").add(tenantID, id, params.Cursor).addInt(params.Limit)
	for i := range page.Items {
		h.addInt(page.Items[i].Version)
		// Authors are shown by name, which their owners may change.
		if a := authors[page.Items[i].CreatedBy]; a != nil {
			h.add(a.Kind, a.Name)
		}
	}
	return `"` + h.add(page.NextCursor).sum() + `"`
}

// nodeTypeTags remembers the content hash of each registered node type. Types are immutable once
// registered (a plugin reload registers new ones), so the hash is computed once per *node.Type;
// forgotten wholesale past maxNodeTypeTags, so that reloads cannot grow it without bound.
type nodeTypeTags struct {
	mu   sync.Mutex
	tags map[*node.Type]string
}

// maxNodeTypeTags bounds nodeTypeTags.
const maxNodeTypeTags = 4096

// of returns the hash of t's API representation. Node types are not tenant data: every workspace
// sees the same catalogue, so the tag is the content's alone and is the same in every process
// that registers the same types.
func (c *nodeTypeTags) of(t *node.Type) string {
	c.mu.Lock()
	tag, ok := c.tags[t]
	c.mu.Unlock()
	if ok {
		return tag
	}
	body, err := json.Marshal(toNodeType(t))
	if err != nil {
		// Unreachable for registered types (their schema is valid JSON); a tag that names the type
		// and its version still changes when the type does.
		body = []byte(string(t.Info.Type) + "@" + strconv.Itoa(t.Info.Version))
	}
	tag = newTagHasher("node-type").add(string(body)).sum()
	c.mu.Lock()
	if c.tags == nil || len(c.tags) >= maxNodeTypeTags {
		c.tags = map[*node.Type]string{}
	}
	c.tags[t] = tag
	c.mu.Unlock()
	return tag
}

// etag is the ETag of one node type.
func (c *nodeTypeTags) etag(t *node.Type) string { return `"` + c.of(t) + `"` }

// listETag is the ETag of the list of types (in the order served).
func (c *nodeTypeTags) listETag(types []*node.Type) string {
	h := newTagHasher("node-type-list")
	for _, t := range types {
		h.add(c.of(t))
	}
	return `"` + h.sum() + `"`
}

// notModifiedResponse documents the 304 answer of a cacheable read.
func notModifiedResponse() *huma.Response {
	str := &huma.Schema{Type: huma.TypeString}
	return &huma.Response{
		Description: "Not Modified: If-None-Match names the current representation; the body is the copy the client holds",
		Headers: map[string]*huma.Header{
			"ETag":          {Description: "The current representation's entity tag", Schema: str},
			"Cache-Control": {Description: "How the copy may be kept", Schema: str},
		},
	}
}

// cacheable adds the 304 answer to a read operation's documentation.
func cacheable(op huma.Operation) huma.Operation {
	if op.Responses == nil {
		op.Responses = map[string]*huma.Response{}
	}
	op.Responses[strconv.Itoa(http.StatusNotModified)] = notModifiedResponse()
	return op
}
