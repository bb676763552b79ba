package redisnode

import (
	"context"
	_ "embed" // docs, in command.md
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/concertmaster/concertmaster/internal/node"
)

// CommandType is the name of the redis.command node type.
const CommandType node.TypeName = "redis.command"

//go:embed command.md
var commandDocs string

// Result limits of redis.command.
const (
	// MaxResultsDefault bounds the elements lrange, hgetall and keys return when maxResults is not set.
	MaxResultsDefault = 1000
	// MaxResultsLimit is the largest maxResults.
	MaxResultsLimit = 100000
	// maxBytesDefault bounds an output when the attempt has no output limit.
	maxBytesDefault int64 = 64 << 20
	// maxPushValues bounds the values one lpush or rpush sends.
	maxPushValues = 10000
)

// operations lists the commands redis.command runs, in the order the docs present them.
var operations = []string{
	"get", "set", "delete", "exists", "incr", "expire", "ttl",
	"hget", "hset", "hdel", "hgetall",
	"lpush", "rpush", "lpop", "rpop", "lrange", "llen",
	"publish", "keys",
}

// Command is a redis.command node: one command of a fixed, safe set (no administrative or scripting
// command) on the server of a redis credential. Its fields are its configuration, evaluated.
type Command struct {
	// Credential is the id of a redis credential.
	Credential string `json:"credential"`
	// Operation is one of operations.
	Operation string `json:"operation"`
	// Key is the key the command acts on (every operation but publish and keys).
	Key string `json:"key,omitempty"`
	// Value is the value set (set), pushed (lpush, rpush) or set in Field (hset): a string is stored
	// as is, any other JSON value as JSON text.
	Value any `json:"value,omitempty"`
	// Values are several values pushed at once (lpush, rpush), in order.
	Values []any `json:"values,omitempty"`
	// Field is the hash field of hget, hdel, and hset with Value.
	Field string `json:"field,omitempty"`
	// Fields are the hash fields hset sets, by name.
	Fields map[string]any `json:"fields,omitempty"`
	// TTL is the time to live of set and expire: a duration such as "10m", or a number of seconds.
	TTL any `json:"ttl,omitempty"`
	// IfNotExists makes set write only when the key does not exist (SET NX).
	IfNotExists bool `json:"ifNotExists,omitempty"`
	// By is the increment of incr; nil means 1.
	By *int64 `json:"by,omitempty"`
	// Start and Stop are the lrange indexes, inclusive, negative from the end; nil means 0 and -1.
	Start *int64 `json:"start,omitempty"`
	Stop  *int64 `json:"stop,omitempty"`
	// Channel and Message are what publish sends; a message that is not a string is sent as JSON.
	Channel string `json:"channel,omitempty"`
	Message any    `json:"message,omitempty"`
	// Pattern is the glob keys matches; empty means "*".
	Pattern string `json:"pattern,omitempty"`
	// ParseJSON decodes values that are JSON text when reading them.
	ParseJSON bool `json:"parseJson,omitempty"`
	// MaxResults bounds the elements lrange, hgetall and keys return; zero means MaxResultsDefault.
	MaxResults int `json:"maxResults,omitempty"`
	// Timeout bounds the command, as a Go duration; empty means the deployment's default.
	Timeout string `json:"timeout,omitempty"`

	shared *shared
}

// NodeInfo describes the redis.command type.
func (c *Command) NodeInfo() node.Info {
	s := c.shared
	return node.Info{
		Type:        CommandType,
		Version:     1,
		Title:       "Redis command",
		Category:    "Databases",
		Description: "Runs one Redis command (get, set with TTL, incr, hashes, lists, publish…) on the server of a redis credential.",
		Icon:        "database-zap",
		Docs:        commandDocs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input", Description: "Not read: the command is built from the configuration"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Result", Description: "The command's result, such as {key, value, exists} for get"}},
		Schema:      json.RawMessage(commandSchema),
		New:         func() node.Node { return &Command{shared: s} },
	}
}

func hasTemplate(s string) bool { return strings.Contains(s, "{{") }

// Validate checks that the operation is known and that the fields it needs are set. A field holding a
// {{ template }} is checked after evaluation.
func (c *Command) Validate() error {
	if c.Operation == "" {
		return errors.New("config.operation is required")
	}
	if hasTemplate(c.Operation) {
		return nil
	}
	if !slices.Contains(operations, c.Operation) {
		return fmt.Errorf("config.operation: %q is not one of %s", c.Operation, strings.Join(operations, ", "))
	}
	var errs []error
	need := func(ok bool, field string) {
		if !ok {
			errs = append(errs, fmt.Errorf("config.%s is required for %s", field, c.Operation))
		}
	}
	switch c.Operation {
	case "publish":
		need(c.Channel != "", "channel")
		need(c.Message != nil, "message")
	case "keys":
	default:
		need(c.Key != "", "key")
	}
	switch c.Operation {
	case "set":
		need(c.Value != nil, "value")
	case "expire":
		need(c.TTL != nil, "ttl")
	case "hget", "hdel":
		need(c.Field != "", "field")
	case "hset":
		need(len(c.Fields) > 0 || (c.Field != "" && c.Value != nil), "fields (or field and value)")
	case "lpush", "rpush":
		need(c.Value != nil || len(c.Values) > 0, "value (or values)")
		if len(c.Values) > maxPushValues {
			errs = append(errs, fmt.Errorf("config.values: at most %d values are pushed at once", maxPushValues))
		}
	}
	if c.TTL != nil {
		if _, err := parseTTL(c.TTL); err != nil && !isTemplateValue(c.TTL) {
			errs = append(errs, err)
		}
	}
	if c.MaxResults < 0 || c.MaxResults > MaxResultsLimit {
		errs = append(errs, fmt.Errorf("config.maxResults: must be between 1 and %d", MaxResultsLimit))
	}
	if c.Timeout != "" && !hasTemplate(c.Timeout) {
		if _, err := timeoutOf("timeout", c.Timeout, time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func isTemplateValue(v any) bool {
	s, ok := v.(string)
	return ok && hasTemplate(s)
}

// parseTTL reads a ttl: a Go duration string ("90s", "10m"), a string of digits (seconds) or a
// number of seconds. It must be at least one millisecond.
func parseTTL(v any) (time.Duration, error) {
	var d time.Duration
	switch t := v.(type) {
	case float64:
		if t > math.MaxInt64/float64(time.Second) {
			return 0, errors.New("config.ttl: too large")
		}
		d = time.Duration(t * float64(time.Second))
	case int:
		d = time.Duration(t) * time.Second
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return 0, fmt.Errorf("config.ttl: %q is not a number", t.String())
		}
		return parseTTL(f)
	case string:
		if n, err := strconv.ParseInt(t, 10, 64); err == nil {
			return parseTTL(float64(n))
		}
		var err error
		d, err = time.ParseDuration(t)
		if err != nil {
			return 0, fmt.Errorf("config.ttl: %q is not a duration such as 10m or a number of seconds", t)
		}
	default:
		return 0, errors.New("config.ttl must be a duration such as 10m or a number of seconds")
	}
	if d < time.Millisecond {
		return 0, errors.New("config.ttl must be at least 1ms")
	}
	return d, nil
}

// encodeValue turns a configured value into what Redis stores: a string as is, any other JSON value
// as JSON text.
func encodeValue(field string, v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case json.Number:
		return t.String(), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", node.Permanent(node.Errorf(CodeInvalidConfig, "config.%s cannot be encoded as JSON: %s", field, err.Error()))
	}
	return string(b), nil
}

// decode returns s as output: decoded when parseJson is on and s is JSON, else the string.
func (c *Command) decode(s string) any {
	if !c.ParseJSON || !json.Valid([]byte(s)) {
		return s
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return s
	}
	return v
}

// run holds one attempt's state.
type run struct {
	c        *Command
	client   *redis.Client
	what     string
	maxBytes int64
	used     int64
	max      int
}

// charge counts n more bytes of output and fails once they pass the limit.
func (r *run) charge(n int) error {
	r.used += int64(n)
	if r.used > r.maxBytes {
		return node.Permanent(node.Errorf(CodeOutputTooLarge, "the %s result is larger than the output limit of %d bytes", r.c.Operation, r.maxBytes))
	}
	return nil
}

// Execute runs the command.
func (c *Command) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	if err := c.Validate(); err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: CodeInvalidConfig, Message: err.Error()})
	}
	if c.shared == nil {
		return node.Output{}, node.Permanent(errors.New("redis.command was not created by redisnode.New"))
	}
	timeout, err := timeoutOf("timeout", c.Timeout, c.shared.cfg.Timeout)
	if err != nil {
		return node.Output{}, err
	}
	cred, err := node.GetCredential(ctx, in.Credentials, c.Credential, CredentialType)
	if err != nil {
		return node.Output{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, what, release, err := c.shared.client(ctx, cred)
	if err != nil {
		return node.Output{}, err
	}
	defer release()
	r := &run{c: c, client: client, what: what, maxBytes: in.Limits.MaxOutputBytes, max: c.MaxResults}
	if r.maxBytes <= 0 {
		r.maxBytes = maxBytesDefault
	}
	if r.max == 0 {
		r.max = MaxResultsDefault
	}
	out, err := r.exec(ctx)
	if err != nil {
		return node.Output{}, classify(what, err)
	}
	return node.Out(out), nil
}

// exec runs the operation and builds its output.
func (r *run) exec(ctx context.Context) (map[string]any, error) {
	c, cl := r.c, r.client
	key := c.Key
	switch c.Operation {
	case "get":
		return r.getString(cl.StrLen(ctx, key), func() (string, error) { return cl.Get(ctx, key).Result() }, map[string]any{"key": key})
	case "hget":
		return r.getString(cl.HStrLen(ctx, key, c.Field), func() (string, error) { return cl.HGet(ctx, key, c.Field).Result() },
			map[string]any{"key": key, "field": c.Field})
	case "set":
		return r.set(ctx)
	case "delete":
		n, err := cl.Del(ctx, key).Result()
		return map[string]any{"key": key, "deleted": n}, err
	case "exists":
		n, err := cl.Exists(ctx, key).Result()
		return map[string]any{"key": key, "exists": n > 0}, err
	case "incr":
		by := int64(1)
		if c.By != nil {
			by = *c.By
		}
		n, err := cl.IncrBy(ctx, key, by).Result()
		return map[string]any{"key": key, "value": n}, err
	case "expire":
		ttl, err := parseTTL(c.TTL)
		if err != nil {
			return nil, node.Permanent(node.Errorf(CodeInvalidConfig, "%s", err.Error()))
		}
		ok, err := cl.PExpire(ctx, key, ttl).Result()
		return map[string]any{"key": key, "exists": ok}, err
	case "ttl":
		d, err := cl.PTTL(ctx, key).Result()
		if err != nil {
			return nil, err
		}
		out := map[string]any{"key": key, "exists": d != -2, "ttl": nil}
		if d >= 0 {
			out["ttl"] = d.Seconds()
		}
		return out, nil
	case "hset":
		return r.hset(ctx)
	case "hdel":
		n, err := cl.HDel(ctx, key, c.Field).Result()
		return map[string]any{"key": key, "deleted": n}, err
	case "hgetall":
		return r.hgetall(ctx)
	case "lpush", "rpush":
		return r.push(ctx)
	case "lpop", "rpop":
		cmd := cl.LPop(ctx, key)
		if c.Operation == "rpop" {
			cmd = cl.RPop(ctx, key)
		}
		s, err := cmd.Result()
		if errors.Is(err, redis.Nil) {
			return map[string]any{"key": key, "value": nil, "exists": false}, nil
		}
		if err != nil {
			return nil, err
		}
		if err := r.charge(len(s)); err != nil {
			return nil, err
		}
		return map[string]any{"key": key, "value": c.decode(s), "exists": true}, nil
	case "lrange":
		return r.lrange(ctx)
	case "llen":
		n, err := cl.LLen(ctx, key).Result()
		return map[string]any{"key": key, "length": n}, err
	case "publish":
		msg, err := encodeValue("message", c.Message)
		if err != nil {
			return nil, err
		}
		n, err := cl.Publish(ctx, c.Channel, msg).Result()
		return map[string]any{"channel": c.Channel, "receivers": n}, err
	case "keys":
		return r.keys(ctx)
	}
	return nil, node.Permanent(node.Errorf(CodeInvalidConfig, "config.operation: %q is not supported", c.Operation))
}

// getString reads a string value whose length lenCmd measured first, so that a value over the
// output limit is refused before it is read.
func (r *run) getString(lenCmd *redis.IntCmd, get func() (string, error), out map[string]any) (map[string]any, error) {
	n, err := lenCmd.Result()
	if err != nil {
		return nil, err
	}
	if err := r.charge(int(n)); err != nil {
		return nil, err
	}
	s, err := get()
	if errors.Is(err, redis.Nil) {
		out["value"], out["exists"] = nil, false
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	r.used -= n
	if err := r.charge(len(s)); err != nil {
		return nil, err
	}
	out["value"], out["exists"] = r.c.decode(s), true
	return out, nil
}

func (r *run) set(ctx context.Context) (map[string]any, error) {
	c := r.c
	v, err := encodeValue("value", c.Value)
	if err != nil {
		return nil, err
	}
	var ttl time.Duration
	if c.TTL != nil {
		if ttl, err = parseTTL(c.TTL); err != nil {
			return nil, node.Permanent(node.Errorf(CodeInvalidConfig, "%s", err.Error()))
		}
	}
	if c.IfNotExists {
		ok, err := r.client.SetNX(ctx, c.Key, v, ttl).Result()
		return map[string]any{"key": c.Key, "written": ok}, err
	}
	if err := r.client.Set(ctx, c.Key, v, ttl).Err(); err != nil {
		return nil, err
	}
	return map[string]any{"key": c.Key, "written": true}, nil
}

func (r *run) hset(ctx context.Context) (map[string]any, error) {
	c := r.c
	args := make([]any, 0, 2*len(c.Fields)+2)
	for _, name := range sortedKeys(c.Fields) {
		v, err := encodeValue("fields."+name, c.Fields[name])
		if err != nil {
			return nil, err
		}
		args = append(args, name, v)
	}
	if c.Field != "" && c.Value != nil {
		v, err := encodeValue("value", c.Value)
		if err != nil {
			return nil, err
		}
		args = append(args, c.Field, v)
	}
	n, err := r.client.HSet(ctx, c.Key, args...).Result()
	return map[string]any{"key": c.Key, "added": n}, err
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// hgetall reads a hash, every field when it has at most max, else max of them through HSCAN.
func (r *run) hgetall(ctx context.Context) (map[string]any, error) {
	c, cl := r.c, r.client
	n, err := cl.HLen(ctx, c.Key).Result()
	if err != nil {
		return nil, err
	}
	fields := map[string]any{}
	add := func(k, v string) error {
		if _, dup := fields[k]; dup {
			return nil
		}
		if err := r.charge(len(k) + len(v) + 8); err != nil {
			return err
		}
		fields[k] = c.decode(v)
		return nil
	}
	truncated := false
	if n <= int64(r.max) {
		all, err := cl.HGetAll(ctx, c.Key).Result()
		if err != nil {
			return nil, err
		}
		for _, k := range sortedKeysString(all) {
			if len(fields) >= r.max {
				truncated = true
				break
			}
			if err := add(k, all[k]); err != nil {
				return nil, err
			}
		}
	} else {
		truncated = true
		var cursor uint64
		for len(fields) < r.max {
			kv, next, err := cl.HScan(ctx, c.Key, cursor, "", 100).Result()
			if err != nil {
				return nil, err
			}
			for i := 0; i+1 < len(kv) && len(fields) < r.max; i += 2 {
				if err := add(kv[i], kv[i+1]); err != nil {
					return nil, err
				}
			}
			if next == 0 {
				break
			}
			cursor = next
		}
	}
	return map[string]any{"key": c.Key, "fields": fields, "count": len(fields), "truncated": truncated}, nil
}

func sortedKeysString(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (r *run) push(ctx context.Context) (map[string]any, error) {
	c := r.c
	var args []any
	if c.Value != nil {
		v, err := encodeValue("value", c.Value)
		if err != nil {
			return nil, err
		}
		args = append(args, v)
	}
	for i, val := range c.Values {
		v, err := encodeValue("values/"+strconv.Itoa(i), val)
		if err != nil {
			return nil, err
		}
		args = append(args, v)
	}
	cmd := r.client.LPush
	if c.Operation == "rpush" {
		cmd = r.client.RPush
	}
	n, err := cmd(ctx, c.Key, args...).Result()
	return map[string]any{"key": c.Key, "length": n}, err
}

// lrange reads at most max elements of the range: with indexes from the start it asks for one more
// than max to know whether it truncated; with indexes from the end it reads the length first.
func (r *run) lrange(ctx context.Context) (map[string]any, error) {
	c, cl := r.c, r.client
	start, stop := int64(0), int64(-1)
	if c.Start != nil {
		start = *c.Start
	}
	if c.Stop != nil {
		stop = *c.Stop
	}
	limit := int64(r.max)
	truncated := false
	var vals []string
	var err error
	if start >= 0 && stop >= 0 {
		if stop-start+1 > limit {
			vals, err = cl.LRange(ctx, c.Key, start, start+limit).Result()
			if len(vals) > int(limit) {
				vals, truncated = vals[:limit], true
			}
		} else {
			vals, err = cl.LRange(ctx, c.Key, start, stop).Result()
		}
	} else {
		var n int64
		if n, err = cl.LLen(ctx, c.Key).Result(); err != nil {
			return nil, err
		}
		if start < 0 {
			start = max(n+start, 0)
		}
		if stop < 0 {
			stop = n + stop
		}
		stop = min(stop, n-1)
		if stop-start+1 > limit {
			stop, truncated = start+limit-1, true
		}
		if start <= stop {
			vals, err = cl.LRange(ctx, c.Key, start, stop).Result()
		}
	}
	if err != nil {
		return nil, err
	}
	values := make([]any, 0, len(vals))
	for _, v := range vals {
		if err := r.charge(len(v) + 4); err != nil {
			return nil, err
		}
		values = append(values, c.decode(v))
	}
	return map[string]any{"key": c.Key, "values": values, "count": len(values), "truncated": truncated}, nil
}

// keys lists the keys matching the pattern with SCAN (never KEYS, which blocks the server), at most
// max of them, sorted.
func (r *run) keys(ctx context.Context) (map[string]any, error) {
	pattern := r.c.Pattern
	if pattern == "" {
		pattern = "*"
	}
	seen := map[string]bool{}
	var cursor uint64
	truncated := false
	for {
		batch, next, err := r.client.Scan(ctx, cursor, pattern, 1000).Result()
		if err != nil {
			return nil, err
		}
		for _, k := range batch {
			if seen[k] {
				continue
			}
			if len(seen) >= r.max {
				truncated = true
				break
			}
			if err := r.charge(len(k) + 4); err != nil {
				return nil, err
			}
			seen[k] = true
		}
		if next != 0 && len(seen) >= r.max {
			truncated = true
		}
		if next == 0 || truncated {
			break
		}
		cursor = next
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return map[string]any{"keys": keys, "count": len(keys), "truncated": truncated}, nil
}

var (
	_ node.Node      = (*Command)(nil)
	_ node.Validator = (*Command)(nil)
)
