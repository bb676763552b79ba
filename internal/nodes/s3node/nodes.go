package s3node

import (
	"bytes"
	"context"
	_ "embed" // docs, in *.md
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/concertmaster/concertmaster/internal/node"
)

var (
	//go:embed get.md
	getDocs string
	//go:embed put.md
	putDocs string
	//go:embed list.md
	listDocs string
	//go:embed delete.md
	deleteDocs string
)

const category = "Storage"

func ioPorts(out, outDesc string) ([]node.PortSpec, []node.PortSpec) {
	return []node.PortSpec{{Name: "in", Title: "Input", Description: "Not read: the request comes from the configuration, through expressions"}},
		[]node.PortSpec{{Name: "out", Title: out, Description: outDesc}}
}

func limitOf(in *node.Input) (node.Credentials, int64) {
	if in == nil {
		return nil, 0
	}
	return in.Credentials, in.Limits.MaxOutputBytes
}

// Get is an s3.get node.
type Get struct {
	Credential string `json:"credential"`
	Bucket     string `json:"bucket,omitempty"`
	Key        string `json:"key"`
	// As decodes the object: text (default), json or base64.
	As string `json:"as,omitempty"`
	// MaxBytes bounds the object's size; zero means MaxGetBytes.
	MaxBytes int64  `json:"maxBytes,omitempty"`
	Timeout  string `json:"timeout,omitempty"`

	shared *shared
}

// NodeInfo describes s3.get.
func (n *Get) NodeInfo() node.Info {
	s := n.shared
	var schema json.RawMessage
	timeout := ""
	if s != nil {
		timeout = s.cfg.Timeout.String()
	}
	props := schemaProps(timeout)
	props["key"] = map[string]any{"title": "Key", "type": "string", "minLength": 1, "maxLength": 1024,
		"description": "The object's key (its path in the bucket).", "examples": []string{"reports/2026-12-01.csv", "{{ input.key }}"}}
	props["as"] = map[string]any{"title": "Read as", "type": "string", "enum": []string{"text", "json", "base64"}, "default": "text",
		"description": "text: the object as a string (UTF-8); json: the object parsed as JSON; base64: the object's bytes in base64, for binary files."}
	props["maxBytes"] = map[string]any{"title": "Maximum size", "type": "integer", "minimum": 1, "maximum": MaxGetBytes,
		"description": fmt.Sprintf("Largest object to read, in bytes; a larger one fails the node before it is read. At most %d (64 MiB), the default.", MaxGetBytes),
		"examples":    []int{1048576}}
	if s != nil {
		schema = schemaFor("S3 get", "Reads an object.", []string{"credential", "key"}, props)
	}
	in, out := ioPorts("Object", "body, contentType, size, etag, lastModified and metadata")
	return node.Info{
		Type: "s3.get", Version: 1, Title: "S3 get object", Category: category, Icon: "cloud-download",
		Description: "Reads an object from S3 or an S3-compatible store, as text, JSON or base64.",
		Docs:        getDocs, Inputs: in, Outputs: out, Schema: schema,
		New: func() node.Node { return &Get{shared: s} },
	}
}

// Validate checks the timeout.
func (n *Get) Validate() error { return parseTimeoutOK(n.Timeout) }

// Execute reads the object.
func (n *Get) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	s := n.shared
	creds, maxOutput := limitOf(in)
	timeout, err := s.timeout(n.Timeout)
	if err != nil {
		return node.Output{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := s.open(ctx, creds, n.Credential)
	if err != nil {
		return node.Output{}, err
	}
	defer c.release()
	bucket, err := c.bucket(n.Bucket)
	if err != nil {
		return node.Output{}, err
	}
	limit := int64(MaxGetBytes)
	if n.MaxBytes > 0 && n.MaxBytes < limit {
		limit = n.MaxBytes
	}
	object := bucket + "/" + n.Key
	rc, info, _, err := c.core.GetObject(ctx, bucket, n.Key, minio.GetObjectOptions{})
	if err != nil {
		return node.Output{}, c.classify(ctx, object, err)
	}
	defer func() { _ = rc.Close() }()
	tooLarge := func(size int64) error {
		return node.Permanent(node.Errorf(CodeObjectTooLarge, "%s: %s is %d bytes, more than maxBytes (%d)", c.what, object, size, limit))
	}
	if info.Size > limit {
		return node.Output{}, tooLarge(info.Size)
	}
	if maxOutput > 0 && outputSize(info.Size, n.As) > maxOutput {
		return node.Output{}, node.Permanent(node.Errorf(CodeOutputTooLarge,
			"%s: %s (%d bytes) does not fit the output limit of %d bytes", c.what, object, info.Size, maxOutput))
	}
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return node.Output{}, c.classify(ctx, object, err)
	}
	if int64(len(data)) > limit {
		return node.Output{}, tooLarge(int64(len(data)))
	}
	var body any
	switch n.As {
	case "", "text":
		body = strings.ToValidUTF8(string(data), "\uFFFD")
	case "json":
		if err := json.Unmarshal(data, &body); err != nil {
			return node.Output{}, node.Permanent(node.Errorf(CodeInvalidJSON, "%s: %s is not JSON: %v", c.what, object, err))
		}
	case "base64":
		body = base64.StdEncoding.EncodeToString(data)
	default:
		return node.Output{}, node.Permanent(node.Errorf(CodeInvalidConfig, "as %q is not text, json or base64", n.As))
	}
	meta := map[string]any{}
	for k, v := range info.UserMetadata {
		meta[strings.ToLower(k)] = v
	}
	return node.Out(map[string]any{
		"bucket": bucket, "key": n.Key, "body": body, "contentType": info.ContentType, "size": len(data),
		"etag": info.ETag, "lastModified": info.LastModified.UTC().Format(time.RFC3339), "metadata": meta,
	}), nil
}

// outputSize estimates the output's size for an object of size bytes read as as.
func outputSize(size int64, as string) int64 {
	if as == "base64" {
		return (size + 2) / 3 * 4
	}
	return size
}

// Put is an s3.put node.
type Put struct {
	Credential string `json:"credential"`
	Bucket     string `json:"bucket,omitempty"`
	Key        string `json:"key"`
	Body       any    `json:"body"`
	// Encoding is text, json or base64; empty means text for a string body and json otherwise.
	Encoding    string            `json:"encoding,omitempty"`
	ContentType string            `json:"contentType,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Timeout     string            `json:"timeout,omitempty"`

	shared *shared
}

// NodeInfo describes s3.put.
func (n *Put) NodeInfo() node.Info {
	s := n.shared
	var schema json.RawMessage
	if s != nil {
		props := schemaProps(s.cfg.Timeout.String())
		props["key"] = map[string]any{"title": "Key", "type": "string", "minLength": 1, "maxLength": 1024,
			"description": "The object's key (its path in the bucket); an object already there is replaced.", "examples": []string{"exports/{{ execution.id }}.json"}}
		props["body"] = map[string]any{"title": "Body", "x-cm-expression": true,
			"description": "What to store: a string (text or base64 per encoding) or any value (stored as JSON).",
			"examples":    []any{"{{ nodes.csv.output }}", map[string]any{"orders": "{{ input.orders }}"}}}
		props["encoding"] = map[string]any{"title": "Encoding", "type": "string", "enum": []string{"text", "json", "base64"},
			"description": "text stores a string as UTF-8, json stores any value as JSON, base64 decodes a base64 string into bytes. Defaults to text for a string body and json otherwise."}
		props["contentType"] = map[string]any{"title": "Content type", "type": "string", "maxLength": 255,
			"description": "The object's media type; text/plain; charset=utf-8, application/json or application/octet-stream per encoding when not set.",
			"examples":    []string{"text/csv"}}
		props["metadata"] = map[string]any{"title": "Metadata", "type": "object", "maxProperties": 32,
			"additionalProperties": map[string]any{"type": "string", "maxLength": 1024},
			"description":          "User metadata stored with the object (x-amz-meta-*), by name.", "examples": []any{map[string]any{"source": "concertmaster"}}}
		schema = schemaFor("S3 put", "Writes an object.", []string{"credential", "key", "body"}, props)
	}
	in, out := ioPorts("Stored", "bucket, key, etag, size and versionId")
	return node.Info{
		Type: "s3.put", Version: 1, Title: "S3 put object", Category: category, Icon: "cloud-upload",
		Description: "Writes text, JSON or base64-encoded bytes to an object in S3 or an S3-compatible store.",
		Docs:        putDocs, Inputs: in, Outputs: out, Schema: schema,
		New: func() node.Node { return &Put{shared: s} },
	}
}

// Validate checks the timeout and metadata names.
func (n *Put) Validate() error {
	var errs []error
	if err := parseTimeoutOK(n.Timeout); err != nil {
		errs = append(errs, err)
	}
	for k, v := range n.Metadata {
		if !validMetaName(k) || strings.ContainsAny(v, "\r\n") {
			errs = append(errs, fmt.Errorf("metadata %q: names are letters, digits and dashes, and values have no line breaks", k))
		}
	}
	return errors.Join(errs...)
}

func validMetaName(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// encode returns the body's bytes and default content type.
func (n *Put) encode() ([]byte, string, error) {
	enc := n.Encoding
	if enc == "" {
		enc = "json"
		if _, ok := n.Body.(string); ok {
			enc = "text"
		}
	}
	switch enc {
	case "text":
		s, ok := n.Body.(string)
		if !ok {
			return nil, "", node.Permanent(node.Errorf(CodeInvalidConfig, "body must be a string when encoding is text"))
		}
		return []byte(s), "text/plain; charset=utf-8", nil
	case "json":
		var buf bytes.Buffer
		e := json.NewEncoder(&buf)
		e.SetEscapeHTML(false)
		if err := e.Encode(n.Body); err != nil {
			return nil, "", node.Permanent(node.Errorf(CodeInvalidConfig, "body: %v", err))
		}
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), "application/json", nil
	case "base64":
		s, ok := n.Body.(string)
		if !ok {
			return nil, "", node.Permanent(node.Errorf(CodeInvalidConfig, "body must be a base64 string when encoding is base64"))
		}
		if base64.StdEncoding.DecodedLen(len(s)) > MaxPutBytes+3 {
			return nil, "", node.Permanent(node.Errorf(CodeObjectTooLarge, "body is larger than %d bytes", MaxPutBytes))
		}
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, "", node.Permanent(node.Errorf(CodeInvalidConfig, "body is not valid base64"))
		}
		return b, "application/octet-stream", nil
	}
	return nil, "", node.Permanent(node.Errorf(CodeInvalidConfig, "encoding %q is not text, json or base64", n.Encoding))
}

// Execute stores the object.
func (n *Put) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	s := n.shared
	creds, _ := limitOf(in)
	data, contentType, err := n.encode()
	if err != nil {
		return node.Output{}, err
	}
	if len(data) > MaxPutBytes {
		return node.Output{}, node.Permanent(node.Errorf(CodeObjectTooLarge, "body is %d bytes, more than %d", len(data), MaxPutBytes))
	}
	if n.ContentType != "" {
		contentType = n.ContentType
	}
	timeout, err := s.timeout(n.Timeout)
	if err != nil {
		return node.Output{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := s.open(ctx, creds, n.Credential)
	if err != nil {
		return node.Output{}, err
	}
	defer c.release()
	bucket, err := c.bucket(n.Bucket)
	if err != nil {
		return node.Output{}, err
	}
	info, err := c.client.PutObject(ctx, bucket, n.Key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
		ContentType: contentType, UserMetadata: maps.Clone(n.Metadata), DisableMultipart: len(data) <= 16<<20,
	})
	if err != nil {
		return node.Output{}, c.classify(ctx, bucket+"/"+n.Key, err)
	}
	out := map[string]any{"bucket": bucket, "key": n.Key, "etag": info.ETag, "size": len(data)}
	if info.VersionID != "" {
		out["versionId"] = info.VersionID
	}
	return node.Out(out), nil
}

// List is an s3.list node.
type List struct {
	Credential        string `json:"credential"`
	Bucket            string `json:"bucket,omitempty"`
	Prefix            string `json:"prefix,omitempty"`
	Delimiter         string `json:"delimiter,omitempty"`
	MaxKeys           int    `json:"maxKeys,omitempty"`
	ContinuationToken string `json:"continuationToken,omitempty"`
	StartAfter        string `json:"startAfter,omitempty"`
	Timeout           string `json:"timeout,omitempty"`

	shared *shared
}

// NodeInfo describes s3.list.
func (n *List) NodeInfo() node.Info {
	s := n.shared
	var schema json.RawMessage
	if s != nil {
		props := schemaProps(s.cfg.Timeout.String())
		props["prefix"] = map[string]any{"title": "Prefix", "type": "string", "maxLength": 1024,
			"description": "Only keys that start with this.", "examples": []string{"reports/2026/"}}
		props["delimiter"] = map[string]any{"title": "Delimiter", "type": "string", "maxLength": 16,
			"description": "Group keys by what comes before this after the prefix (usually /): such groups are listed once in prefixes, like folders.", "examples": []string{"/"}}
		props["maxKeys"] = map[string]any{"title": "Maximum keys", "type": "integer", "minimum": 1, "maximum": MaxListKeys, "default": MaxListKeys,
			"description": "Most objects and prefixes in one page."}
		props["continuationToken"] = map[string]any{"title": "Continuation token", "type": "string", "maxLength": 4096,
			"description": "The nextContinuationToken of the previous page, to list the next one.", "examples": []string{"{{ nodes.list.output.nextContinuationToken }}"}}
		props["startAfter"] = map[string]any{"title": "Start after", "type": "string", "maxLength": 1024,
			"description": "List keys after this one, in UTF-8 order.", "examples": []string{"reports/2026/11/"}}
		schema = schemaFor("S3 list", "Lists objects.", []string{"credential"}, props)
	}
	in, out := ioPorts("Page", "objects, prefixes, isTruncated and nextContinuationToken")
	return node.Info{
		Type: "s3.list", Version: 1, Title: "S3 list objects", Category: category, Icon: "list-tree",
		Description: "Lists one page of objects (and folder-like prefixes) in a bucket of S3 or an S3-compatible store.",
		Docs:        listDocs, Inputs: in, Outputs: out, Schema: schema,
		New: func() node.Node { return &List{shared: s} },
	}
}

// Validate checks the timeout.
func (n *List) Validate() error { return parseTimeoutOK(n.Timeout) }

// Execute lists one page.
func (n *List) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	s := n.shared
	creds, _ := limitOf(in)
	maxKeys := n.MaxKeys
	if maxKeys <= 0 || maxKeys > MaxListKeys {
		maxKeys = MaxListKeys
	}
	timeout, err := s.timeout(n.Timeout)
	if err != nil {
		return node.Output{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := s.open(ctx, creds, n.Credential)
	if err != nil {
		return node.Output{}, err
	}
	defer c.release()
	bucket, err := c.bucket(n.Bucket)
	if err != nil {
		return node.Output{}, err
	}
	res, err := c.core.ListObjectsV2(bucket, n.Prefix, n.StartAfter, n.ContinuationToken, n.Delimiter, maxKeys)
	if err != nil {
		return node.Output{}, c.classify(ctx, bucket, err)
	}
	objects := make([]any, 0, len(res.Contents))
	for _, o := range res.Contents {
		objects = append(objects, map[string]any{
			"key": o.Key, "size": o.Size, "etag": strings.Trim(o.ETag, `"`),
			"lastModified": o.LastModified.UTC().Format(time.RFC3339), "storageClass": o.StorageClass,
		})
	}
	prefixes := make([]any, 0, len(res.CommonPrefixes))
	for _, p := range res.CommonPrefixes {
		prefixes = append(prefixes, p.Prefix)
	}
	out := map[string]any{"bucket": bucket, "objects": objects, "prefixes": prefixes, "isTruncated": res.IsTruncated}
	if res.IsTruncated && res.NextContinuationToken != "" {
		out["nextContinuationToken"] = res.NextContinuationToken
	}
	return node.Out(out), nil
}

// Delete is an s3.delete node.
type Delete struct {
	Credential string   `json:"credential"`
	Bucket     string   `json:"bucket,omitempty"`
	Key        string   `json:"key,omitempty"`
	Keys       []string `json:"keys,omitempty"`
	Timeout    string   `json:"timeout,omitempty"`

	shared *shared
}

// NodeInfo describes s3.delete.
func (n *Delete) NodeInfo() node.Info {
	s := n.shared
	var schema json.RawMessage
	if s != nil {
		props := schemaProps(s.cfg.Timeout.String())
		props["key"] = map[string]any{"title": "Key", "type": "string", "minLength": 1, "maxLength": 1024,
			"description": "The key of the one object to delete.", "examples": []string{"tmp/{{ execution.id }}.json"}}
		props["keys"] = map[string]any{"title": "Keys", "type": "array", "maxItems": MaxDeleteKeys,
			"items":       map[string]any{"type": "string", "minLength": 1, "maxLength": 1024},
			"description": fmt.Sprintf("The keys of several objects to delete in one request, at most %d.", MaxDeleteKeys),
			"examples":    []any{[]string{"tmp/a.json", "tmp/b.json"}, "{{ map(nodes.list.output.objects, .key) }}"}}
		schema = schemaFor("S3 delete", "Deletes objects.", []string{"credential"}, props)
	}
	in, out := ioPorts("Deleted", "deleted keys and errors")
	return node.Info{
		Type: "s3.delete", Version: 1, Title: "S3 delete objects", Category: category, Icon: "trash-2",
		Description: "Deletes one object, or up to 1,000 in one request, from S3 or an S3-compatible store.",
		Docs:        deleteDocs, Inputs: in, Outputs: out, Schema: schema,
		New: func() node.Node { return &Delete{shared: s} },
	}
}

// Validate checks that key or keys is set, not both.
func (n *Delete) Validate() error {
	var errs []error
	if (n.Key == "") == (len(n.Keys) == 0) {
		errs = append(errs, errors.New("set key (one object) or keys (several), not both"))
	}
	if err := parseTimeoutOK(n.Timeout); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Execute deletes the objects. Deleting a key that does not exist succeeds, as in S3.
func (n *Delete) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	s := n.shared
	creds, _ := limitOf(in)
	if err := n.Validate(); err != nil {
		return node.Output{}, node.Permanent(node.Errorf(CodeInvalidConfig, "%v", err))
	}
	if len(n.Keys) > MaxDeleteKeys {
		return node.Output{}, node.Permanent(node.Errorf(CodeInvalidConfig, "keys holds %d keys, more than %d", len(n.Keys), MaxDeleteKeys))
	}
	timeout, err := s.timeout(n.Timeout)
	if err != nil {
		return node.Output{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := s.open(ctx, creds, n.Credential)
	if err != nil {
		return node.Output{}, err
	}
	defer c.release()
	bucket, err := c.bucket(n.Bucket)
	if err != nil {
		return node.Output{}, err
	}
	if n.Key != "" {
		if err := c.client.RemoveObject(ctx, bucket, n.Key, minio.RemoveObjectOptions{}); err != nil {
			return node.Output{}, c.classify(ctx, bucket+"/"+n.Key, err)
		}
		return node.Out(map[string]any{"bucket": bucket, "deleted": []any{n.Key}, "errors": []any{}}), nil
	}
	ch := make(chan minio.ObjectInfo, len(n.Keys))
	for _, k := range n.Keys {
		ch <- minio.ObjectInfo{Key: k}
	}
	close(ch)
	failed := map[string]bool{}
	errs := []any{}
	for e := range c.client.RemoveObjects(ctx, bucket, ch, minio.RemoveObjectsOptions{}) {
		if e.ObjectName == "" {
			// The request as a whole failed.
			return node.Output{}, c.classify(ctx, bucket, e.Err)
		}
		failed[e.ObjectName] = true
		item := map[string]any{"key": e.ObjectName}
		if e.Err != nil {
			r := minio.ToErrorResponse(e.Err)
			item["code"], item["message"] = r.Code, r.Message
			if r.Code == "" {
				item["message"] = e.Err.Error()
			}
		}
		errs = append(errs, item)
	}
	if ctx.Err() != nil {
		return node.Output{}, c.classify(ctx, bucket, ctx.Err())
	}
	deleted := []any{}
	for _, k := range n.Keys {
		if !failed[k] {
			deleted = append(deleted, k)
		}
	}
	return node.Out(map[string]any{"bucket": bucket, "deleted": deleted, "errors": errs}), nil
}

var (
	_ node.Validator = (*Get)(nil)
	_ node.Validator = (*Put)(nil)
	_ node.Validator = (*List)(nil)
	_ node.Validator = (*Delete)(nil)
)
