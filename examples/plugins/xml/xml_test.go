package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/pkg/plugin"
)

// compact returns JSON without white space, members in the order written.
func compact(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, json.Compact(&b, []byte(s)), s)
	return b.String()
}

func marshal(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, writeJSON(&b, v))
	return b.String()
}

func TestParseXML(t *testing.T) {
	t.Parallel()
	many := func() (string, string) {
		var x, j strings.Builder
		x.WriteString("<a>")
		j.WriteString(`{"a":{`)
		for i := range 20 {
			n := strconv.Itoa(i)
			x.WriteString("<e" + n + ">" + n + "</e" + n + ">")
			if i > 0 {
				j.WriteString(",")
			}
			if i == 3 {
				j.WriteString(`"e3":["3","again"]`)
				continue
			}
			j.WriteString(`"e` + n + `":"` + n + `"`)
		}
		x.WriteString("<e3>again</e3></a>")
		j.WriteString("}}")
		return x.String(), j.String()
	}
	manyXML, manyJSON := many()
	tests := []struct {
		name string
		xml  string
		edit func(o *parseOptions)
		want string
	}{
		{name: "AttributePrefixEmpty", xml: `<a id="1"><id>2</id></a>`, edit: func(o *parseOptions) { o.AttrPrefix = "" }, want: `{"a":{"id":["1","2"]}}`},
		{name: "AttributesAndText", xml: `<price currency="EUR" vat="0.2">12.50</price>`, want: `{"price":{"@currency":"EUR","@vat":"0.2","#text":"12.50"}}`},
		{name: "BOM", xml: "\uFEFF<a>1</a>", want: `{"a":"1"}`},
		{name: "CDATAAndEntities", xml: `<a><![CDATA[<b>&</b>]]> &amp; &#x41;&#66;&lt;&gt;&quot;&apos;</a>`, want: `{"a":"<b>&</b> & AB<>\"'"}`},
		{name: "CollapseTextOff", xml: `<a><b>x</b><c/><d k="v"/></a>`, edit: func(o *parseOptions) { o.CollapseText = false },
			want: `{"a":{"b":{"#text":"x"},"c":{},"d":{"@k":"v"}}}`},
		{name: "DeclarationCommentsAndDoctype", xml: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<!DOCTYPE note SYSTEM \"note.dtd\">\n<!-- a note -->\n<note><?pi x?><to>Tove</to><!-- c --></note>\n",
			want: `{"note":{"to":"Tove"}}`},
		{name: "EmptyElements", xml: `<a><b/><c></c><d>  </d></a>`, want: `{"a":{"b":"","c":"","d":""}}`},
		{name: "ExplicitArray", xml: `<a x="1"><b>x</b><c><d>y</d></c></a>`, edit: func(o *parseOptions) { o.ExplicitArray = true },
			want: `{"a":{"@x":"1","b":["x"],"c":[{"d":["y"]}]}}`},
		{name: "IgnoreAttributes", xml: `<a id="1"><b k="v">x</b></a>`, edit: func(o *parseOptions) { o.IgnoreAttributes = true }, want: `{"a":{"b":"x"}}`},
		{name: "ManyChildren", xml: manyXML, want: manyJSON},
		{name: "MaxDepthReached", xml: "<a><b><c>1</c></b></a>", edit: func(o *parseOptions) { o.MaxDepth = 3 }, want: `{"a":{"b":{"c":"1"}}}`},
		{name: "MixedContent", xml: `<p>Hello <b>world</b>!</p>`, want: `{"p":{"b":"world","#text":"Hello !"}}`},
		{name: "Namespaces", xml: `<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body><m:Price xmlns:m="urn:m" m:cur="EUR">1</m:Price></soap:Body></soap:Envelope>`,
			want: `{"soap:Envelope":{"@xmlns:soap":"http://www.w3.org/2003/05/soap-envelope","soap:Body":{"m:Price":{"@xmlns:m":"urn:m","@m:cur":"EUR","#text":"1"}}}}`},
		{name: "Nested", xml: "<person id=\"7\">\n  <name>Ada</name>\n  <tags>\n    <tag>a</tag>\n    <tag>b</tag>\n  </tags>\n</person>",
			want: `{"person":{"@id":"7","name":"Ada","tags":{"tag":["a","b"]}}}`},
		{name: "RepeatsKeepFirstPosition", xml: `<a><b>1</b><c>2</c><b>3</b><b>4</b></a>`, want: `{"a":{"b":["1","3","4"],"c":"2"}}`},
		{name: "TextKey", xml: `<a k="v">t</a>`, edit: func(o *parseOptions) { o.TextKey = "_" }, want: `{"a":{"@k":"v","_":"t"}}`},
		{name: "TrimOff", xml: "<a> x <b/>\n</a>", edit: func(o *parseOptions) { o.Trim = false }, want: `{"a":{"b":"","#text":" x \n"}}`},
		{name: "Unicode", xml: `<città nome="Zürich">東京 😀</città>`, want: `{"città":{"@nome":"Zürich","#text":"東京 😀"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := defaultParseOptions()
			if tt.edit != nil {
				tt.edit(&o)
			}
			got, err := parseXML(tt.xml, o)
			require.NoError(t, err)
			require.Equal(t, compact(t, tt.want), marshal(t, got))
		})
	}
}

func TestParseXMLRefuses(t *testing.T) {
	t.Parallel()
	const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz>&lol9;</lolz>`
	attrs := func(n int) string {
		var b strings.Builder
		b.WriteString("<a")
		for i := range n {
			b.WriteString(" a" + strconv.Itoa(i) + `="v"`)
		}
		b.WriteString("/>")
		return b.String()
	}
	tests := []struct {
		name string
		xml  string
		edit func(o *parseOptions)
		want string
	}{
		{name: "AttributeTwice", xml: `<a k="1" k="2"/>`, want: "line 1: <a> has attribute k twice"},
		{name: "AttributesTooMany", xml: attrs(100_000), want: "<a> has 100000 attributes, more than 1024"},
		{name: "BillionLaughs", xml: billionLaughs, want: "invalid character entity &lol9;"},
		{name: "CloseMismatch", xml: "<a>\n<b></c></a>", want: "line 2: <b> is closed by </c>"},
		{name: "CloseStray", xml: "</a>", want: "</a> closes no element"},
		{name: "CommentOnly", xml: "<!-- nothing -->", want: "the XML holds no element"},
		{name: "DeepNesting", xml: strings.Repeat("<a>", 100_000), want: "<a> nests deeper than 64 elements (maxDepth)"},
		{name: "DeepNestingConfigured", xml: "<a><b><c/></b></a>", edit: func(o *parseOptions) { o.MaxDepth = 2 }, want: "<c> nests deeper than 2 elements"},
		{name: "ElementsTooMany", xml: "<a>" + strings.Repeat("<b/>", 1000) + "</a>", edit: func(o *parseOptions) { o.MaxElements = 1000 }, want: "more than 1000 elements (maxElements)"},
		{name: "Empty", xml: "", want: "the XML holds no element"},
		{name: "EntityExternal", xml: `<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>`, want: "invalid character entity &xxe;"},
		{name: "EntityHTML", xml: `<a>&nbsp;</a>`, want: "invalid character entity &nbsp;"},
		{name: "EntityInAttribute", xml: `<!DOCTYPE a [<!ENTITY e "x">]><a k="&e;"/>`, want: "invalid character entity &e;"},
		{name: "InvalidUTF8", xml: "<a>\xff</a>", want: "invalid UTF-8"},
		{name: "RootTwice", xml: "<a/><b/>", want: "a second root element <b>: a document has one"},
		{name: "Syntax", xml: "<a", want: "XML syntax error on line 1"},
		{name: "TextAfterRoot", xml: "<a/>tail", want: "text outside the root element"},
		{name: "TextBeforeRoot", xml: "head<a/>", want: "text outside the root element"},
		{name: "TooLarge", xml: "<a>" + strings.Repeat("x", maxXMLBytes) + "</a>", want: "the XML is 8388615 bytes, over the 8388608-byte limit"},
		{name: "Unclosed", xml: "<a><b></b>", want: "the XML ends before </a>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := defaultParseOptions()
			if tt.edit != nil {
				tt.edit(&o)
			}
			start := time.Now()
			got, err := parseXML(tt.xml, o)
			require.Nil(t, got)
			require.ErrorIs(t, err, errXML)
			require.Contains(t, err.Error(), tt.want)
			require.Less(t, time.Since(start), 5*time.Second, "hostile input is refused quickly")
		})
	}
}

func TestBuildXML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value string
		edit  func(o *buildOptions)
		want  string
	}{
		{name: "AttributePrefix", value: `{"a":{"$id":1}}`, edit: func(o *buildOptions) { o.AttrPrefix = "$" }, want: `<a id="1"/>`},
		{name: "AttributePrefixEmpty", value: `{"a":{"id":1}}`, edit: func(o *buildOptions) { o.AttrPrefix = "" }, want: `<a><id>1</id></a>`},
		{name: "Declaration", value: `{"a":"x"}`, edit: func(o *buildOptions) { o.Declaration = true }, want: `<?xml version="1.0" encoding="UTF-8"?><a>x</a>`},
		{name: "Escaping", value: `{"a":{"@q":"say \"hi\"\n& <go>","#text":"a<b & \"c\" 'd' >\n\r\u0001"}}`,
			want: "<a q=\"say &quot;hi&quot;&#xA;&amp; &lt;go&gt;\">a&lt;b &amp; \"c\" 'd' &gt;\n&#xD;\uFFFD</a>"},
		{name: "Indent", value: `{"a":{"@k":"v","b":{"c":["1","2"]},"d":null,"e":"t"}}`, edit: func(o *buildOptions) { o.Indent = 2; o.Declaration = true },
			want: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a k=\"v\">\n  <b>\n    <c>1</c>\n    <c>2</c>\n  </b>\n  <d/>\n  <e>t</e>\n</a>"},
		{name: "ItemName", value: `[1,2]`, edit: func(o *buildOptions) { o.ItemName = "n"; o.RootName = "list" }, want: `<list><n>1</n><n>2</n></list>`},
		{name: "Nested", value: `{"person":{"@id":7,"name":"Ada","tags":{"tag":["a","b"]}}}`,
			want: `<person id="7"><name>Ada</name><tags><tag>a</tag><tag>b</tag></tags></person>`},
		{name: "NullsNumbersBooleans", value: `{"a":{"@skip":null,"@on":true,"n":1.50e3,"z":null,"f":false}}`, want: `<a on="true"><n>1.50e3</n><z/><f>false</f></a>`},
		{name: "RootArray", value: `[1,{"b":2},null]`, want: `<root><item>1</item><item><b>2</b></item><item/></root>`},
		{name: "RootMultipleKeys", value: `{"a":1,"b":2}`, want: `<root><a>1</a><b>2</b></root>`},
		{name: "RootName", value: `{"person":"Ada"}`, edit: func(o *buildOptions) { o.RootName = "doc" }, want: `<doc><person>Ada</person></doc>`},
		{name: "RootOfAnArray", value: `{"tag":["a","b"]}`, want: `<root><tag>a</tag><tag>b</tag></root>`},
		{name: "RootScalar", value: `"hi"`, want: `<root>hi</root>`},
		{name: "TextAndAttributes", value: `{"price":{"@currency":"EUR","#text":12.5}}`, want: `<price currency="EUR">12.5</price>`},
		{name: "TextMixed", value: `{"p":{"#text":"Hello","b":"world"}}`, want: `<p>Hello<b>world</b></p>`},
		{name: "Unicode", value: `{"città":{"@nome":"Zürich","#text":"東京 😀"}}`, want: `<città nome="Zürich">東京 😀</città>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := decodeJSON([]byte(tt.value), maxDepthLimit)
			require.NoError(t, err)
			o := defaultBuildOptions()
			o.Declaration = false
			if tt.edit != nil {
				tt.edit(&o)
			}
			got, err := buildXML(v, o)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestBuildXMLRefuses(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat(`{"a":`, maxDepthLimit+1) + "1" + strings.Repeat("}", maxDepthLimit+1)
	tests := []struct {
		name  string
		value string
		want  string
	}{
		{name: "ArrayInArray", value: `{"a":{"b":[[1]]}}`, want: "the array at /a/b/0 is inside an array"},
		{name: "ArrayInRootArray", value: `[1,[2]]`, want: "the array at /1 is inside an array"},
		{name: "AttributeName", value: `{"a":{"@1x":"v"}}`, want: `"1x" at /a/@1x is not an XML attribute name`},
		{name: "AttributeObject", value: `{"a":{"@x":{"y":1}}}`, want: "attribute /a/@x: want a string, number, boolean or null"},
		{name: "Deep", value: deep, want: "nests deeper than 512 elements"},
		{name: "ElementNameSpace", value: `{"person":{"first name":"Ada"}}`, want: `"first name" at /person/first name is not an XML element name`},
		{name: "ElementNameSlash", value: `{"a":{"b/c":{"2x":1}}}`, want: `"b/c" at /a/b~1c is not an XML element name`},
		{name: "ElementNameEmpty", value: `{"":1}`, want: `"" at / is not an XML element name`},
		{name: "TextObject", value: `{"a":{"#text":[]}}`, want: "text /a/#text: want a string"},
		{name: "TooLarge", value: `{"a":"` + strings.Repeat("x", maxXMLBytes) + `"}`, want: "over the 8388608-byte limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := decodeJSON([]byte(tt.value), maxDepthLimit+1)
			require.NoError(t, err)
			got, err := buildXML(v, defaultBuildOptions())
			require.Empty(t, got)
			require.ErrorIs(t, err, errJSON)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	v, err := decodeJSON([]byte(`{"z":1,"a":[true,null,"s",{"k":2.50}],"m":{}}`), 3)
	require.NoError(t, err)
	require.Equal(t, `{"z":1,"a":[true,null,"s",{"k":2.50}],"m":{}}`, marshal(t, v), "order and numbers are kept")

	_, err = decodeJSON([]byte(`[[[[1]]]]`), 3)
	require.EqualError(t, err, "JSON nests deeper than 3 levels")
	_, err = decodeJSON([]byte(strings.Repeat("[", 10_000_000)), maxDepthLimit)
	require.EqualError(t, err, "JSON nests deeper than 512 levels")
	_, err = decodeJSON([]byte(`{} {}`), 3)
	require.EqualError(t, err, "more than one JSON value")
	_, err = decodeJSON([]byte(`{"a":}`), 3)
	require.Error(t, err)
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		`<person id="7"><name>Ada</name><tags><tag>a</tag><tag>b</tag></tags></person>`,
		`<soap:Envelope xmlns:soap="urn:s"><soap:Body><m:Price xmlns:m="urn:m" m:cur="EUR">1</m:Price></soap:Body></soap:Envelope>`,
		`<p>Hello<b>world</b><i>x &amp; &lt;y&gt;</i></p>`,
		`<a k="say &quot;hi&quot;&#xA;">line one
line two</a>`,
	} {
		parsed, err := parseXML(doc, defaultParseOptions())
		require.NoError(t, err, doc)
		o := defaultBuildOptions()
		o.Declaration = false
		built, err := buildXML(parsed, o)
		require.NoError(t, err, doc)
		require.Equal(t, doc, built)
	}
}

func TestHandlers(t *testing.T) {
	t.Parallel()
	mux := plugin.NewMux()
	for typ, h := range handlers() {
		mux.Handle(typ, h)
	}
	call := func(typ, config, input string) *plugin.Response {
		req := &plugin.Request{Type: typ, Config: json.RawMessage(config)}
		if input != "" {
			req.Input = json.RawMessage(input)
		}
		return mux.Serve(context.Background(), req)
	}
	tests := []struct {
		name, typ, config, input string
		// want is the output, or the error's code and message when code is set.
		want, code string
	}{
		{name: "BuildFromInput", typ: "xml.build", config: `{"declaration":false}`, input: `{"a":{"@k":"v","#text":"t"}}`, want: `{"xml":"<a k=\"v\">t</a>"}`},
		{name: "BuildFromValue", typ: "xml.build", config: `{"value":{"a":1},"rootName":"doc","indent":1}`, input: `{"ignored":true}`,
			want: `{"xml":"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<doc>\n <a>1</a>\n</doc>"}`},
		{name: "BuildIndentTooLarge", typ: "xml.build", config: `{"value":1,"indent":9}`, code: "invalid_config", want: "indent must be between 0 and 8 spaces"},
		{name: "BuildItemName", typ: "xml.build", config: `{"value":[1],"itemName":"1"}`, code: "invalid_config", want: `itemName "1" is not an XML element name`},
		{name: "BuildNothing", typ: "xml.build", config: `{"value":null}`, code: "invalid_input", want: "nothing to build: set value, or give the node an input"},
		{name: "BuildRootName", typ: "xml.build", config: `{"value":1,"rootName":"a b"}`, code: "invalid_config", want: `rootName "a b" is not an XML element name`},
		{name: "BuildValueWithoutXMLForm", typ: "xml.build", config: `{"value":{"a b":1}}`, code: "invalid_input", want: `cannot build XML: "a b" at /a b is not an XML element name`},
		{name: "DocsBuildExample", typ: "xml.build", config: `{"value": {"person": {"@id": 7, "name": "Ada", "tag": ["a", "b"]}}, "declaration": false}`,
			want: `{"xml": "<person id=\"7\"><name>Ada</name><tag>a</tag><tag>b</tag></person>"}`},
		{name: "DocsParseExample", typ: "xml.parse", config: `{"xml": "<person id=\"7\"><name>Ada</name><tag>a</tag><tag>b</tag></person>"}`,
			want: `{"person": {"@id": "7", "name": "Ada", "tag": ["a", "b"]}}`},
		{name: "ParseBadXML", typ: "xml.parse", config: `{"xml":"<a>"}`, code: "invalid_xml", want: "invalid XML: line 1: the XML ends before </a>"},
		{name: "ParseBothSources", typ: "xml.parse", config: `{"xml":"<a/>","field":"body"}`, code: "invalid_config", want: "set xml or field, not both"},
		{name: "ParseEmptyXML", typ: "xml.parse", config: `{"xml":""}`, code: "invalid_xml", want: "invalid XML: the XML holds no element"},
		{name: "ParseField", typ: "xml.parse", config: `{"field":"response.body","attrPrefix":"$"}`, input: `{"response":{"status":200,"body":"<a id=\"1\">x</a>"}}`,
			want: `{"a":{"$id":"1","#text":"x"}}`},
		{name: "ParseFieldMissing", typ: "xml.parse", config: `{"field":"body"}`, input: `{"data":1}`, code: "invalid_input", want: "the input has no field body"},
		{name: "ParseFieldNotString", typ: "xml.parse", config: `{"field":"body"}`, input: `{"body":{"a":1}}`, code: "invalid_input", want: "the input's field body is an object, not a string of XML"},
		{name: "ParseFieldWithoutInput", typ: "xml.parse", config: `{"field":"body"}`, code: "invalid_input", want: "the node has no input to read field body from"},
		{name: "ParseMaxDepth", typ: "xml.parse", config: `{"xml":"<a/>","maxDepth":1000}`, code: "invalid_config", want: "maxDepth must be between 1 and 512"},
		{name: "ParseMaxElements", typ: "xml.parse", config: `{"xml":"<a/>","maxElements":-1}`, code: "invalid_config", want: "maxElements must be between 1 and 1000000"},
		{name: "ParseNoSource", typ: "xml.parse", config: `{}`, code: "invalid_config", want: "set xml to the XML text, or field to the input's field that holds it"},
		{name: "ParseOptions", typ: "xml.parse", config: `{"xml":"<a><b> x </b></a>","collapseText":false,"trim":false,"explicitArray":true,"textKey":"_"}`,
			want: `{"a":{"b":[{"_":" x "}]}}`},
		{name: "ParseTextKeyEmpty", typ: "xml.parse", config: `{"xml":"<a/>","textKey":""}`, code: "invalid_config", want: "textKey must be 1 to 64 bytes"},
		{name: "ParseUnknownOption", typ: "xml.parse", config: `{"xml":"<a/>","prefix":"$"}`, code: "invalid_config", want: `configuration: json: unknown field "prefix"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := call(tt.typ, tt.config, tt.input)
			if tt.code == "" {
				require.Nil(t, resp.Error)
				require.Equal(t, compact(t, tt.want), string(resp.Output))
				return
			}
			require.Equal(t, &plugin.Error{Message: tt.want, Code: tt.code, Permanent: true}, resp.Error)
		})
	}
}

// TestErrorsAreMarked checks that callers can tell bad XML from bad JSON.
func TestErrorsAreMarked(t *testing.T) {
	t.Parallel()
	_, err := parseXML("<a>", defaultParseOptions())
	require.True(t, errors.Is(err, errXML) && !errors.Is(err, errJSON))
}

// orders is an XML document of n orders of three lines each.
func orders(n int) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><orders>`)
	for i := range n {
		id := strconv.Itoa(i)
		b.WriteString(`<order id="` + id + `" status="paid"><customer>Customer ` + id + `</customer>`)
		for j := range 3 {
			b.WriteString(`<line sku="SKU-` + strconv.Itoa(j) + `" qty="2"><price currency="EUR">12.50</price></line>`)
		}
		b.WriteString(`</order>`)
	}
	b.WriteString(`</orders>`)
	return b.String()
}

func BenchmarkParseXML(b *testing.B) {
	doc := orders(3000) // about 1 MiB
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := parseXML(doc, defaultParseOptions()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildXML(b *testing.B) {
	parsed, err := parseXML(orders(3000), defaultParseOptions())
	require.NoError(b, err)
	o := defaultBuildOptions()
	out, err := buildXML(parsed, o)
	require.NoError(b, err)
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		if _, err := buildXML(parsed, o); err != nil {
			b.Fatal(err)
		}
	}
}
