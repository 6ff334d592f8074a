// Package yamltree parses YAML streams into compact node trees with positions. A fast parser
// handles the subset of YAML that model files use (block and flow collections, plain and quoted
// single-line scalars, literal block scalars, comments); anything else — anchors, aliases, tags,
// directives, folded or multi-line scalars, tabs, carriage returns, syntax errors — makes it give
// up, and the stream is parsed again with gopkg.in/yaml.v3, whose trees are converted. Both paths
// yield the same trees for every input the fast parser accepts (FuzzFastMatchesYAML checks it),
// so callers never see which one ran. Syntax errors carry yaml.v3's messages and lines; after an
// error the documents that follow still load.
package yamltree

import (
	"errors"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Kind is the kind of a node.
type Kind uint8

// Kinds. The zero Kind marks an empty document (never returned by Parse).
const (
	ScalarNode Kind = iota + 1
	MappingNode
	SequenceNode
	AliasNode
)

// Style holds presentation flags of a node.
type Style uint8

// Style flags.
const (
	Tagged       Style = 1 << iota // an explicit tag (`!foo`, `!!str`)
	Anchored                       // an anchor (`&a`)
	DoubleQuoted                   // "…"
	SingleQuoted                   // '…'
	Literal                        // |
	Folded                         // >
	Flow                           // {…} or […]
)

// Tag is the resolved (or explicit) tag of a node.
type Tag uint8

// Tags; TagOther is any tag outside the YAML core schema.
const (
	TagOther Tag = iota
	TagStr
	TagInt
	TagFloat
	TagBool
	TagNull
	TagTimestamp
	TagBinary
	TagMerge
	TagMap
	TagSeq
)

var tagNames = [...]string{
	TagOther: "!<other>", TagStr: "!!str", TagInt: "!!int", TagFloat: "!!float", TagBool: "!!bool",
	TagNull: "!!null", TagTimestamp: "!!timestamp", TagBinary: "!!binary", TagMerge: "!!merge",
	TagMap: "!!map", TagSeq: "!!seq",
}

// String returns the short tag ("!!str").
func (t Tag) String() string {
	if int(t) < len(tagNames) {
		return tagNames[t]
	}
	return tagNames[TagOther]
}

// Node is one YAML node. A mapping's Content alternates keys and values. Line and Column are
// 1-based; Column counts Unicode code points.
type Node struct {
	Kind    Kind
	Style   Style
	Tag     Tag
	Line    int32
	Column  int32
	Value   string // scalar text; the anchor name of an alias
	Content []Node
}

// SyntaxError is a YAML syntax error: yaml.v3's message without its "yaml: line N:" prefix and
// the line it names (at least 1, relative to the whole stream).
type SyntaxError struct {
	Line int
	Msg  string
}

// Parse parses a YAML stream. It returns the root of every non-empty document, in order, and the
// syntax errors of the documents that did not parse. Scalar values may share memory with src.
func Parse(src string) ([]Node, []SyntaxError) {
	return new(Parser).Parse(src)
}

// Parser parses streams reusing its memory: the nodes returned by Parse are valid until the next
// call. A Parser is not safe for concurrent use.
type Parser struct {
	fast  fast
	plain bool
}

// Parse is like the package-level Parse, with the nodes valid until the next call.
func (p *Parser) Parse(src string) ([]Node, []SyntaxError) {
	if docs, ok := p.fast.parse(src); ok {
		p.plain = !p.fast.merge
		return docs, nil
	}
	p.plain = false
	return parseSlow(src)
}

// Plain reports whether the stream of the last Parse certainly has no anchors, aliases, tags
// or merge keys (the fast parser accepts none of the first three and notes "<<"), so that a
// caller can skip looking for them. False means they may occur.
func (p *Parser) Plain() bool { return p.plain }

// parseSlow parses src with yaml.v3. After a syntax error it parses the documents again one by
// one (split at `---` lines) so the documents after the broken one still load.
func parseSlow(src string) ([]Node, []SyntaxError) {
	docs, err := decodeAll(src, 0)
	if err == nil {
		return docs, nil
	}
	docs = docs[:0]
	var errs []SyntaxError
	for _, c := range splitDocuments(src) {
		d, err := decodeAll(c.text, c.line)
		docs = append(docs, d...)
		if err != nil {
			errs = append(errs, *err)
		}
	}
	return docs, errs
}

// chunk is a piece of a stream that starts at a document marker (or the stream start).
type chunk struct {
	text string
	line int // lines before the chunk
}

// splitDocuments cuts src before every `---` line; directive lines (`%…`) right before a marker
// go with it.
func splitDocuments(src string) []chunk {
	var chunks []chunk
	start, startLine := 0, 0
	// lastContent: index and line of the first directive line of the run preceding the marker.
	runStart, runLine := -1, 0
	line := 0
	for i := 0; i < len(src); {
		end := strings.IndexByte(src[i:], '\n')
		next := len(src)
		if end >= 0 {
			next = i + end + 1
		}
		text := src[i:next]
		switch {
		case isMarkerLine(text, "---"):
			cut, cutLine := i, line
			if runStart >= 0 {
				cut, cutLine = runStart, runLine
			}
			if cut > start {
				chunks = append(chunks, chunk{text: src[start:cut], line: startLine})
				start, startLine = cut, cutLine
			}
			runStart = -1
		case strings.HasPrefix(text, "%"):
			if runStart < 0 {
				runStart, runLine = i, line
			}
		default:
			runStart = -1
		}
		i = next
		line++
	}
	return append(chunks, chunk{text: src[start:], line: startLine})
}

func isMarkerLine(line, marker string) bool {
	if !strings.HasPrefix(line, marker) {
		return false
	}
	if len(line) == len(marker) {
		return true
	}
	switch line[len(marker)] {
	case ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// decodeAll decodes every document of src with yaml.v3, stopping at the first error. Lines are
// shifted by offset.
func decodeAll(src string, offset int) (docs []Node, serr *SyntaxError) {
	defer func() {
		// yaml.v3 panics on some internal errors; never let one escape.
		if r := recover(); r != nil {
			serr = &SyntaxError{Line: offset + 1, Msg: "the YAML parser failed on this document"}
		}
	}()
	dec := yaml.NewDecoder(strings.NewReader(src))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			line, msg := splitError(err.Error())
			return docs, &SyntaxError{Line: offset + line, Msg: msg}
		}
		if root, ok := fromYAML(&n, int32(offset)); ok {
			docs = append(docs, root)
		}
	}
}

// splitError splits "yaml: line 3: did not find expected key" into the 1-based line and the
// message. yaml.v3 prints 1-based lines for scanner errors but 0-based ones for parser errors
// (and no line at all for line 0); parser errors are recognised by their messages.
func splitError(s string) (int, string) {
	s = strings.TrimPrefix(s, "yaml: ")
	line, msg := 0, s
	if rest, ok := strings.CutPrefix(s, "line "); ok {
		if num, m, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, m
			}
		}
	}
	if parserErrors[msg] {
		return line + 1, msg
	}
	return max(line, 1), msg
}

// parserErrors are the messages of yaml.v3's parser (as opposed to its scanner).
var parserErrors = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// fromYAML converts a yaml.v3 document node; ok is false for an empty document.
func fromYAML(doc *yaml.Node, offset int32) (Node, bool) {
	n := doc
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return Node{}, false
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" && n.Value == "" && n.Style == 0 && n.Anchor == "" {
		return Node{}, false
	}
	return convert(n, offset), true
}

func convert(n *yaml.Node, offset int32) Node {
	out := Node{Line: int32(n.Line) + offset, Column: int32(n.Column), Value: n.Value}
	switch n.Kind {
	case yaml.ScalarNode:
		out.Kind = ScalarNode
	case yaml.MappingNode:
		out.Kind = MappingNode
	case yaml.SequenceNode:
		out.Kind = SequenceNode
	case yaml.AliasNode:
		out.Kind = AliasNode
	default: // a nested document cannot occur; treat it as a null scalar
		out.Kind = ScalarNode
	}
	if n.Style&yaml.TaggedStyle != 0 {
		out.Style |= Tagged
	}
	if n.Anchor != "" {
		out.Style |= Anchored
	}
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		out.Style |= DoubleQuoted
	case n.Style&yaml.SingleQuotedStyle != 0:
		out.Style |= SingleQuoted
	case n.Style&yaml.LiteralStyle != 0:
		out.Style |= Literal
	case n.Style&yaml.FoldedStyle != 0:
		out.Style |= Folded
	}
	if n.Style&yaml.FlowStyle != 0 {
		out.Style |= Flow
	}
	out.Tag = tagOf(n.Tag)
	if out.Kind == AliasNode {
		out.Tag = TagOther
	}
	if len(n.Content) > 0 && out.Kind != AliasNode {
		out.Content = make([]Node, len(n.Content))
		for i, c := range n.Content {
			out.Content[i] = convert(c, offset)
		}
	}
	return out
}

func tagOf(t string) Tag {
	switch t {
	case "!!str":
		return TagStr
	case "!!int":
		return TagInt
	case "!!float":
		return TagFloat
	case "!!bool":
		return TagBool
	case "!!null":
		return TagNull
	case "!!timestamp":
		return TagTimestamp
	case "!!binary":
		return TagBinary
	case "!!merge":
		return TagMerge
	case "!!map":
		return TagMap
	case "!!seq":
		return TagSeq
	}
	return TagOther
}
