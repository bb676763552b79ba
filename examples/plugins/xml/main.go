// Command xml is ConcertMaster's XML plugin, a WebAssembly module: node type xml.parse turns XML into
// JSON and xml.build turns JSON into XML, in the shape n8n's XML node uses (attributes under a
// prefix, text under "#text", repeated elements as arrays). Both are pure and bounded: 8 MiB of XML,
// nesting and element counts capped, no entity expansion. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"

	"github.com/concertmaster/concertmaster/pkg/plugin"
)

func init() {
	for typ, h := range handlers() {
		plugin.Handle(typ, h)
	}
}

func main() { plugin.Main() }

// handlers are the plugin's node types.
func handlers() map[string]plugin.Handler {
	return map[string]plugin.Handler{"xml.parse": parse, "xml.build": build}
}

// parseConfig is xml.parse's configuration (plugin.json has its schema).
type parseConfig struct {
	XML              *string `json:"xml"`
	Field            string  `json:"field"`
	AttrPrefix       *string `json:"attrPrefix"`
	TextKey          *string `json:"textKey"`
	CollapseText     *bool   `json:"collapseText"`
	Trim             *bool   `json:"trim"`
	ExplicitArray    bool    `json:"explicitArray"`
	IgnoreAttributes bool    `json:"ignoreAttributes"`
	MaxDepth         int     `json:"maxDepth"`
	MaxElements      int     `json:"maxElements"`
}

func parse(_ context.Context, c *plugin.Call) (plugin.Result, error) {
	var cfg parseConfig
	if err := decodeConfig(c.Config, &cfg); err != nil {
		return plugin.Result{}, err
	}
	o := defaultParseOptions()
	if cfg.AttrPrefix != nil {
		o.AttrPrefix = *cfg.AttrPrefix
	}
	if cfg.TextKey != nil {
		o.TextKey = *cfg.TextKey
	}
	if cfg.CollapseText != nil {
		o.CollapseText = *cfg.CollapseText
	}
	if cfg.Trim != nil {
		o.Trim = *cfg.Trim
	}
	o.ExplicitArray, o.IgnoreAttributes = cfg.ExplicitArray, cfg.IgnoreAttributes
	o.MaxDepth = cmp.Or(cfg.MaxDepth, o.MaxDepth)
	o.MaxElements = cmp.Or(cfg.MaxElements, o.MaxElements)
	switch {
	case len(o.AttrPrefix) > 16:
		return plugin.Result{}, invalid("invalid_config", "attrPrefix is longer than 16 bytes")
	case o.TextKey == "" || len(o.TextKey) > 64:
		return plugin.Result{}, invalid("invalid_config", "textKey must be 1 to 64 bytes")
	case o.MaxDepth < 1 || o.MaxDepth > maxDepthLimit:
		return plugin.Result{}, invalid("invalid_config", fmt.Sprintf("maxDepth must be between 1 and %d", maxDepthLimit))
	case o.MaxElements < 1 || o.MaxElements > maxElementsLimit:
		return plugin.Result{}, invalid("invalid_config", fmt.Sprintf("maxElements must be between 1 and %d", maxElementsLimit))
	}

	var text string
	switch {
	case cfg.XML != nil && cfg.Field != "":
		return plugin.Result{}, invalid("invalid_config", "set xml or field, not both")
	case cfg.XML != nil:
		text = *cfg.XML
	case cfg.Field != "":
		if len(bytes.TrimSpace(c.Input)) == 0 {
			return plugin.Result{}, invalid("invalid_input", fmt.Sprintf("the node has no input to read field %s from", cfg.Field))
		}
		in, err := decodeJSON(c.Input, maxDepthLimit)
		if err != nil {
			return plugin.Result{}, invalid("invalid_input", "read the input: "+err.Error())
		}
		v, found := lookup(in, cfg.Field)
		if !found {
			return plugin.Result{}, invalid("invalid_input", fmt.Sprintf("the input has no field %s", cfg.Field))
		}
		s, isString := v.(string)
		if !isString {
			return plugin.Result{}, invalid("invalid_input", fmt.Sprintf("the input's field %s is %s, not a string of XML", cfg.Field, kind(v)))
		}
		text = s
	default:
		return plugin.Result{}, invalid("invalid_config", "set xml to the XML text, or field to the input's field that holds it")
	}
	out, err := parseXML(text, o)
	if err != nil {
		return plugin.Result{}, invalid("invalid_xml", err.Error())
	}
	return plugin.Out(out), nil
}

// buildConfig is xml.build's configuration (plugin.json has its schema).
type buildConfig struct {
	Value       json.RawMessage `json:"value"`
	RootName    string          `json:"rootName"`
	AttrPrefix  *string         `json:"attrPrefix"`
	TextKey     *string         `json:"textKey"`
	ItemName    string          `json:"itemName"`
	Indent      int             `json:"indent"`
	Declaration *bool           `json:"declaration"`
}

func build(_ context.Context, c *plugin.Call) (plugin.Result, error) {
	var cfg buildConfig
	if err := decodeConfig(c.Config, &cfg); err != nil {
		return plugin.Result{}, err
	}
	o := defaultBuildOptions()
	o.RootName, o.Indent = cfg.RootName, cfg.Indent
	o.ItemName = cmp.Or(cfg.ItemName, o.ItemName)
	if cfg.AttrPrefix != nil {
		o.AttrPrefix = *cfg.AttrPrefix
	}
	if cfg.TextKey != nil {
		o.TextKey = *cfg.TextKey
	}
	if cfg.Declaration != nil {
		o.Declaration = *cfg.Declaration
	}
	switch {
	case o.RootName != "" && !isName(o.RootName):
		return plugin.Result{}, invalid("invalid_config", fmt.Sprintf("rootName %q is not an XML element name", o.RootName))
	case !isName(o.ItemName):
		return plugin.Result{}, invalid("invalid_config", fmt.Sprintf("itemName %q is not an XML element name", o.ItemName))
	case len(o.AttrPrefix) > 16:
		return plugin.Result{}, invalid("invalid_config", "attrPrefix is longer than 16 bytes")
	case o.TextKey == "" || len(o.TextKey) > 64:
		return plugin.Result{}, invalid("invalid_config", "textKey must be 1 to 64 bytes")
	case o.Indent < 0 || o.Indent > 8:
		return plugin.Result{}, invalid("invalid_config", "indent must be between 0 and 8 spaces")
	}
	raw := cfg.Value
	if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
		raw = c.Input
	}
	if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
		return plugin.Result{}, invalid("invalid_input", "nothing to build: set value, or give the node an input")
	}
	v, err := decodeJSON(raw, maxDepthLimit)
	if err != nil {
		return plugin.Result{}, invalid("invalid_input", "read the value: "+err.Error())
	}
	text, err := buildXML(v, o)
	if err != nil {
		return plugin.Result{}, invalid("invalid_input", err.Error())
	}
	return plugin.Out(object{{Key: "xml", Value: text}}), nil
}

// decodeConfig decodes the configuration strictly: a misspelt option is an error, not a default.
func decodeConfig(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("invalid_config", "configuration: "+err.Error())
	}
	return nil
}

// invalid is a permanent failure: the same configuration and input would fail again.
func invalid(code, message string) error {
	return plugin.Permanent(&plugin.CodedError{Code: code, Message: message})
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	case object:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
