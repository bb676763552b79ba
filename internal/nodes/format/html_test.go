package format_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/node"
)

const page = `<!doctype html><html><head><title>Shop</title></head><body>
<h1> Results </h1>
<ul class="results">
  <li><a href="/a" data-id="1">Apple <b>red</b></a></li>
  <li><a href="/b">Banana</a></li>
  <li><a>No link</a></li>
</ul>
<p id="price">12.50</p>
</body></html>`

func TestHTMLExtract(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		extract []any
		want    map[string]any
	}{
		{name: "AllAttributes", extract: []any{map[string]any{"key": "links", "selector": "ul.results a", "value": "attribute", "attribute": "HREF", "all": true}},
			want: map[string]any{"links": []any{"/a", "/b", nil}}},
		{name: "AllLimit", extract: []any{map[string]any{"key": "names", "selector": "li", "all": true, "limit": 2}},
			want: map[string]any{"names": []any{"Apple red", "Banana"}}},
		{name: "AllNoMatch", extract: []any{map[string]any{"key": "x", "selector": "table td", "all": true}},
			want: map[string]any{"x": []any{}}},
		{name: "FirstText", extract: []any{map[string]any{"key": "title", "selector": "h1"}, map[string]any{"key": "price", "selector": "#price"}},
			want: map[string]any{"title": "Results", "price": "12.50"}},
		{name: "Group", extract: []any{map[string]any{"key": "heads", "selector": "title, h1", "all": true}},
			want: map[string]any{"heads": []any{"Shop", "Results"}}},
		{name: "InnerHTML", extract: []any{map[string]any{"key": "a", "selector": "a[data-id]", "value": "html"}},
			want: map[string]any{"a": "Apple <b>red</b>"}},
		{name: "MissingAttribute", extract: []any{map[string]any{"key": "id", "selector": "h1", "value": "attribute", "attribute": "id"}},
			want: map[string]any{"id": nil}},
		{name: "NoMatch", extract: []any{map[string]any{"key": "x", "selector": "table"}}, want: map[string]any{"x": nil}},
		{name: "NoTrim", extract: []any{map[string]any{"key": "title", "selector": "h1", "trim": false}},
			want: map[string]any{"title": " Results "}},
		{name: "OuterHTML", extract: []any{map[string]any{"key": "a", "selector": "li:nth-child(2) a", "value": "outerHtml"}},
			want: map[string]any{"a": `<a href="/b">Banana</a>`}},
		{name: "PseudoClass", extract: []any{map[string]any{"key": "a", "selector": "a:contains(\"Ban\")"}},
			want: map[string]any{"a": "Banana"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := run(t, "data.html", map[string]any{"extract": tt.extract}, &node.Input{Data: page})
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestHTMLFromConfig(t *testing.T) {
	t.Parallel()
	got, err := run(t, "data.html", map[string]any{"html": "<p>broken <b>markup", "extract": []any{map[string]any{"key": "b", "selector": "p b"}}},
		&node.Input{Data: 42.0})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"b": "markup"}, got)
}

func TestHTMLBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{name: "AttributeMissing", config: map[string]any{"extract": []any{map[string]any{"key": "a", "selector": "a", "value": "attribute"}}},
			want: "extract[0].attribute: name the attribute to read"},
		{name: "BadSelector", config: map[string]any{"extract": []any{map[string]any{"key": "a", "selector": "a"}, map[string]any{"key": "b", "selector": "a[href"}}},
			want: `extract[1].selector: "a[href" is not a CSS selector`},
		{name: "DuplicateKey", config: map[string]any{"extract": []any{map[string]any{"key": "a", "selector": "a"}, map[string]any{"key": "a", "selector": "b"}}},
			want: `extract[1].key: "a" is already extract[0].key`},
		{name: "EmptyExtract", config: map[string]any{"extract": []any{}}, want: "config/extract: minItems"},
		{name: "SelectorTooLong", config: map[string]any{"extract": []any{map[string]any{"key": "a", "selector": strings.Repeat("a ", 600)}}},
			want: "config/extract/0/selector: maxLength"},
		{name: "ValueUnknown", config: map[string]any{"extract": []any{map[string]any{"key": "a", "selector": "a", "value": "json"}}},
			want: "config/extract/0/value: value must be one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Contains(t, configError(t, "data.html", tt.config), tt.want)
		})
	}
}

func TestHTMLBadInput(t *testing.T) {
	t.Parallel()
	extract := []any{map[string]any{"key": "a", "selector": "a"}}
	_, err := run(t, "data.html", map[string]any{"extract": extract}, &node.Input{Data: map[string]any{"body": "<a>"}})
	msg := requireCode(t, err, "invalid_input")
	require.Contains(t, msg, "data.html reads an HTML document, got an object")

	_, err = run(t, "data.html", map[string]any{"extract": extract}, &node.Input{Data: strings.Repeat("x", 2048), Limits: node.Limits{MaxOutputBytes: 1024}})
	msg = requireCode(t, err, "invalid_html")
	require.Contains(t, msg, "the HTML document is 2048 bytes, over the 1024-byte limit")
}

func TestHTMLHostile(t *testing.T) {
	t.Parallel()

	t.Run("DeepNesting", func(t *testing.T) {
		t.Parallel()
		doc := strings.Repeat("<div>", 200000) + "deep" + strings.Repeat("</div>", 200000)
		start := time.Now()
		got, err := run(t, "data.html", map[string]any{"extract": []any{
			map[string]any{"key": "text", "selector": "body"},
			map[string]any{"key": "n", "selector": "div", "all": true, "limit": 3, "value": "outerHtml"},
		}}, &node.Input{Data: doc, Limits: node.Limits{MaxOutputBytes: 4 << 20}})
		require.Nil(t, got)
		msg := requireCode(t, err, "invalid_html")
		require.Contains(t, msg, "open stack of elements exceeds 512 nodes")
		require.Less(t, time.Since(start), 30*time.Second)

		// 500 levels are fine.
		doc = strings.Repeat("<div>", 500) + "deep" + strings.Repeat("</div>", 500)
		got, err = run(t, "data.html", map[string]any{"extract": []any{map[string]any{"key": "text", "selector": "body"}}}, &node.Input{Data: doc})
		require.NoError(t, err)
		require.Equal(t, map[string]any{"text": "deep"}, got)
	})

	t.Run("ManyMatchesOverOutputCap", func(t *testing.T) {
		t.Parallel()
		// 100 KiB of text inside 20 nested elements: each match repeats it.
		doc := strings.Repeat("<div>", 20) + strings.Repeat("x", 100<<10) + strings.Repeat("</div>", 20)
		_, err := run(t, "data.html", map[string]any{"extract": []any{map[string]any{"key": "p", "selector": "div", "all": true, "value": "html"}}},
			&node.Input{Data: doc, Limits: node.Limits{MaxOutputBytes: 1 << 20}})
		requireCode(t, err, "output_too_large")
	})

	t.Run("MemoryBudget", func(t *testing.T) {
		t.Parallel()
		mem := budget.NewMemory(1 << 20)
		_, err := run(t, "data.html", map[string]any{"extract": []any{map[string]any{"key": "p", "selector": "p"}}},
			&node.Input{Data: strings.Repeat("<p>x</p>", 1<<16), Limits: node.Limits{Memory: mem.Open()}})
		requireBudget(t, err)
	})

	t.Run("Canceled", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := runCtx(ctx, t, "data.html", map[string]any{"extract": []any{map[string]any{"key": "p", "selector": "p", "all": true}}},
			&node.Input{Data: "<p>x</p>"})
		require.ErrorIs(t, err, context.Canceled)
	})
}
