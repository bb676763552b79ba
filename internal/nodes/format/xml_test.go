package format_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/node"
)

func TestXMLParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		input  string
		want   any
	}{
		{name: "AlwaysArray", config: map[string]any{"mode": "parse", "alwaysArray": []any{"item"}},
			input: `<order id="7"><item sku="A1">2</item><note>rush</note></order>`,
			want:  map[string]any{"order": map[string]any{"@id": "7", "item": []any{map[string]any{"@sku": "A1", "#text": "2"}}, "note": "rush"}}},
		{name: "CDATAAndEntities", config: map[string]any{"mode": "parse"},
			input: `<a><![CDATA[<b>&x]]> &amp; &lt; &#65;</a>`, want: map[string]any{"a": "<b>&x & < A"}},
		{name: "DoctypeWithoutEntitiesIsSkipped", config: map[string]any{"mode": "parse"},
			input: `<?xml version="1.0"?><!DOCTYPE a><!-- c --><a><?pi x?>t</a>`, want: map[string]any{"a": "t"}},
		{name: "EmptyElement", config: map[string]any{"mode": "parse"}, input: `<a><b/><c></c></a>`,
			want: map[string]any{"a": map[string]any{"b": "", "c": ""}}},
		{name: "KeepWhitespace", config: map[string]any{"mode": "parse", "keepWhitespace": true}, input: "<a> x <b>y</b>\n</a>",
			want: map[string]any{"a": map[string]any{"#text": " x \n", "b": "y"}}},
		{name: "MixedContent", config: map[string]any{"mode": "parse"}, input: `<p>Hello <b>you</b> there</p>`,
			want: map[string]any{"p": map[string]any{"#text": "Hello  there", "b": "you"}}},
		{name: "Namespaces", config: map[string]any{"mode": "parse"},
			input: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:x"><soap:Body a:b="1" xmlns:a="urn:a"/></soap:Envelope>`,
			want: map[string]any{"Envelope": map[string]any{"@xmlns:soap": "http://schemas.xmlsoap.org/soap/envelope/", "@xmlns": "urn:x",
				"Body": map[string]any{"@b": "1", "@xmlns:a": "urn:a"}}}},
		{name: "Repeated", config: map[string]any{"mode": "parse"}, input: "<list>\n  <i>1</i>\n  <i>2</i>\n  <j>3</j>\n</list>",
			want: map[string]any{"list": map[string]any{"i": []any{"1", "2"}, "j": "3"}}},
		{name: "RootAlwaysArray", config: map[string]any{"mode": "parse", "alwaysArray": []any{"a"}}, input: `<a>1</a>`,
			want: map[string]any{"a": []any{"1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := run(t, "data.xml", tt.config, &node.Input{Data: tt.input})
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestXMLFormat(t *testing.T) {
	t.Parallel()
	order := map[string]any{"order": map[string]any{"@id": "7", "item": []any{map[string]any{"@sku": "A1", "#text": "2"}}, "note": "rush"}}
	tests := []struct {
		name   string
		config map[string]any
		input  any
		want   string
	}{
		{name: "ArrayRoot", config: map[string]any{"mode": "format", "indent": 0, "declaration": false}, input: []any{1.0, true, nil},
			want: `<root><item>1</item><item>true</item><item></item></root>`},
		{name: "Escapes", config: map[string]any{"mode": "format", "indent": 0, "declaration": false, "root": "r"},
			input: map[string]any{"@q": `a"<b>`, "#text": "x & y"}, want: `<r q="a&#34;&lt;b&gt;">x &amp; y</r>`},
		{name: "Indented", config: map[string]any{"mode": "format"}, input: order,
			want: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<order id=\"7\">\n  <item sku=\"A1\">2</item>\n  <note>rush</note>\n</order>"},
		{name: "NamedRoot", config: map[string]any{"mode": "format", "indent": 0, "declaration": false, "root": "data", "value": map[string]any{"n": 1.5, "ok": false}},
			input: "ignored", want: `<data><n>1.5</n><ok>false</ok></data>`},
		{name: "OneLine", config: map[string]any{"mode": "format", "indent": 0, "declaration": false}, input: order,
			want: `<order id="7"><item sku="A1">2</item><note>rush</note></order>`},
		{name: "PrefixedNames", config: map[string]any{"mode": "format", "indent": 0, "declaration": false},
			input: map[string]any{"soap:Envelope": map[string]any{"@xmlns:soap": "urn:s", "soap:Body": ""}},
			want:  `<soap:Envelope xmlns:soap="urn:s"><soap:Body></soap:Body></soap:Envelope>`},
		{name: "ScalarRoot", config: map[string]any{"mode": "format", "indent": 0, "declaration": false}, input: "hi", want: `<root>hi</root>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := run(t, "data.xml", tt.config, &node.Input{Data: tt.input})
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestXMLBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{name: "IndentTooLarge", config: map[string]any{"mode": "format", "indent": 9}, want: "config/indent: maximum: got 9, want 8"},
		{name: "RootNotAName", config: map[string]any{"mode": "format", "root": "1st"}, want: `root: "1st" is not an XML element name`},
		{name: "TextWithFormat", config: map[string]any{"mode": "format", "text": "<a/>"}, want: "text: only for mode parse"},
		{name: "UnknownField", config: map[string]any{"mode": "parse", "strict": true}, want: "additional properties 'strict' not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Contains(t, configError(t, "data.xml", tt.config), tt.want)
		})
	}
}

func TestXMLBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		input  any
		code   string
		msg    string
	}{
		{name: "AttributeObject", config: map[string]any{"mode": "format", "root": "a"}, input: map[string]any{"@x": map[string]any{}},
			code: "invalid_input", msg: "a.@x is an object; an attribute holds a string, number or boolean"},
		{name: "BadKey", config: map[string]any{"mode": "format"}, input: map[string]any{"order": map[string]any{"items": []any{map[string]any{"1st": 1.0}}}},
			code: "invalid_input", msg: `order.items[0]: key "1st" is not an XML element name`},
		{name: "Mismatched", config: map[string]any{"mode": "parse"}, input: "<a>\n<b></a>", code: "invalid_xml", msg: "line 2: element <b> closed by </a>"},
		{name: "NoElement", config: map[string]any{"mode": "parse"}, input: "  ", code: "invalid_xml", msg: "no XML element"},
		{name: "NotText", config: map[string]any{"mode": "parse"}, input: 3.0, code: "invalid_input", msg: "data.xml parses text, got a number"},
		{name: "OtherEncoding", config: map[string]any{"mode": "parse"}, input: `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, code: "invalid_xml", msg: "ISO-8859-1"},
		{name: "TwoRoots", config: map[string]any{"mode": "parse"}, input: "<a/><b/>", code: "invalid_xml", msg: "a second root element <b>"},
		{name: "Unclosed", config: map[string]any{"mode": "parse"}, input: "<a><b>", code: "invalid_xml", msg: "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := run(t, "data.xml", tt.config, &node.Input{Data: tt.input})
			msg := requireCode(t, err, tt.code)
			require.Contains(t, msg, tt.msg)
		})
	}
}

const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>`

const externalEntity = `<?xml version="1.0"?>
<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<foo>&xxe;</foo>`

func TestXMLHostile(t *testing.T) {
	t.Parallel()

	t.Run("BillionLaughs", func(t *testing.T) {
		t.Parallel()
		_, err := run(t, "data.xml", map[string]any{"mode": "parse"}, &node.Input{Data: billionLaughs})
		msg := requireCode(t, err, "invalid_xml")
		require.Contains(t, msg, "invalid character entity &lol9;")
	})

	t.Run("Canceled", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := runCtx(ctx, t, "data.xml", map[string]any{"mode": "parse"}, &node.Input{Data: bigXML(1 << 20)})
		require.ErrorIs(t, err, context.Canceled)
	})

	t.Run("DeepFormat", func(t *testing.T) {
		t.Parallel()
		var v any = "x"
		for range 1000 {
			v = map[string]any{"a": v}
		}
		_, err := run(t, "data.xml", map[string]any{"mode": "format"}, &node.Input{Data: v})
		msg := requireCode(t, err, "invalid_input")
		require.Contains(t, msg, "nests more than 256 deep")
	})

	t.Run("DeepParse", func(t *testing.T) {
		t.Parallel()
		text := strings.Repeat("<a>", 100000) + strings.Repeat("</a>", 100000)
		_, err := run(t, "data.xml", map[string]any{"mode": "parse"}, &node.Input{Data: text})
		msg := requireCode(t, err, "invalid_xml")
		require.Contains(t, msg, "line 1: elements nest more than 256 deep")
	})

	t.Run("ExternalEntity", func(t *testing.T) {
		t.Parallel()
		_, err := run(t, "data.xml", map[string]any{"mode": "parse"}, &node.Input{Data: externalEntity})
		msg := requireCode(t, err, "invalid_xml")
		require.Contains(t, msg, "invalid character entity &xxe;")
		require.NotContains(t, msg, "root:")
	})

	t.Run("FormatOverOutputCap", func(t *testing.T) {
		t.Parallel()
		row := map[string]any{"s": strings.Repeat("x", 1000)}
		items := make([]any, 10000)
		for i := range items {
			items[i] = row
		}
		_, err := run(t, "data.xml", map[string]any{"mode": "format"}, &node.Input{Data: items, Limits: node.Limits{MaxOutputBytes: 1 << 20}})
		requireCode(t, err, "output_too_large")
	})

	t.Run("ManyElementsMemory", func(t *testing.T) {
		t.Parallel()
		mem := budget.NewMemory(1 << 20)
		text := "<r>" + strings.Repeat("<a/>", 1<<18) + "</r>"
		_, err := run(t, "data.xml", map[string]any{"mode": "parse"}, &node.Input{Data: text, Limits: node.Limits{Memory: mem.Open()}})
		requireBudget(t, err)
	})

	t.Run("ParseOverOutputCap", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		_, err := run(t, "data.xml", map[string]any{"mode": "parse"}, &node.Input{Data: bigXML(8 << 20), Limits: node.Limits{MaxOutputBytes: 1 << 20}})
		requireCode(t, err, "output_too_large")
		require.Less(t, time.Since(start), 30*time.Second, "it stops at the cap, long before the end")
	})
}

// bigXML returns about size bytes of XML: a list of records.
func bigXML(size int) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<orders>\n")
	for b.Len() < size {
		b.WriteString(`  <order id="12345" status="paid"><customer>Ada Lovelace</customer><total currency="EUR">1234.50</total></order>` + "\n")
	}
	b.WriteString("</orders>\n")
	return b.String()
}

func BenchmarkXMLParse1MiB(b *testing.B) {
	text := bigXML(1 << 20)
	n, err := instantiate(b, "data.xml", map[string]any{"mode": "parse"})
	require.NoError(b, err)
	in := &node.Input{Data: text, Limits: node.Limits{MaxOutputBytes: 16 << 20}}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := n.Execute(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzXMLParse(f *testing.F) {
	f.Add(`<order id="7"><item sku="A1">2</item><item>3</item><note>rush &amp; go</note></order>`)
	f.Add(`<p>Hello <b>you</b> there<![CDATA[ <x> ]]></p>`)
	f.Add(`<s:E xmlns:s="urn:s"><s:B a="1"/></s:E>`)
	f.Add(billionLaughs)
	f.Add(`<s:0 xmlns:s=""/>0`) // a local name the writer refuses (found by fuzzing)
	f.Fuzz(func(t *testing.T, text string) {
		parse, err := instantiate(t, "data.xml", map[string]any{"mode": "parse"})
		require.NoError(t, err)
		out, err := parse.Execute(context.Background(), &node.Input{Data: text, Limits: node.Limits{MaxOutputBytes: 1 << 20}})
		if err != nil {
			var ne *node.Error
			require.True(t, errors.As(err, &ne), err.Error())
			require.Contains(t, []string{"invalid_xml", "output_too_large"}, ne.Code, err.Error())
			return
		}
		_, err = json.Marshal(out.Value)
		require.NoError(t, err)
		// Formatting the value and parsing it again gives the same value. The reader accepts some
		// names the writer refuses (<s:0 xmlns:s=""/> has the local name 0): those fail cleanly.
		format, err := instantiate(t, "data.xml", map[string]any{"mode": "format"})
		require.NoError(t, err)
		text2, err := format.Execute(context.Background(), &node.Input{Data: out.Value})
		if err != nil {
			var ne *node.Error
			require.True(t, errors.As(err, &ne), err.Error())
			require.Equal(t, "invalid_input", ne.Code, err.Error())
			require.Contains(t, ne.Message, "is not an XML")
			return
		}
		again, err := parse.Execute(context.Background(), &node.Input{Data: text2.Value})
		require.NoError(t, err, "reparse %q", text2.Value)
		require.Equal(t, out.Value, again.Value, "through %q", text2.Value)
	})
}
