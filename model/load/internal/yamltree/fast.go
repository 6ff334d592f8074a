package yamltree

import (
	"strings"
	"unicode/utf8"
)

// The fast parser. It accepts a strict subset of YAML and gives up (ok=false) on anything else,
// including everything yaml.v3 would reject, so that its trees are always yaml.v3's.
//
// Accepted: documents separated by `---` lines; block mappings with plain or quoted single-line
// keys; block sequences (also compact `- a: 1` and indentless under a key); flow mappings and
// sequences, possibly over several lines; plain and quoted scalars on one line; literal block
// scalars `|` and `|-`; comments. Not accepted: empty values, tabs, CR, BOM, control characters,
// anchors, aliases, tags, directives, `...`, `?` keys, folded and keep-chomped block scalars,
// multi-line plain or quoted scalars, keys longer than 512 bytes, nesting deeper than 400.

type bailout struct{}

const maxFastDepth = 400

type fast struct {
	src     string
	p       int   // cursor
	line    int32 // line of the cursor, 1-based
	ls      int   // start of the cursor's line
	ascii   bool
	depth   int
	stack   []Node
	content bool // the cursor is at the first non-space character of its line
	indent  int  // indentation of that line when content is true
	buf     []byte
	arena   []Node // the content of every collection, reused from parse to parse
	docs    []Node
	merge   bool // a plain scalar "<<" (a merge key where it is a key) was seen
}

// parseFast parses src with a new fast parser; ok is false when it gave up.
func parseFast(src string) (docs []Node, ok bool) {
	return new(fast).parse(src)
}

// parse parses src, reusing the parser's buffers: the nodes of the previous parse are
// overwritten.
func (f *fast) parse(src string) (docs []Node, ok bool) {
	ascii, good := precheck(src)
	if !good {
		return nil, false
	}
	*f = fast{src: src, line: 1, ascii: ascii, stack: f.stack[:0], arena: f.arena[:0], docs: f.docs[:0], buf: f.buf[:0]}
	defer func() {
		if r := recover(); r != nil {
			// A bailout, or any bug: the slow path decides.
			docs, ok = nil, false
		}
	}()
	return f.stream(), true
}

// precheck reports whether src is ASCII and whether it holds only characters the fast parser
// handles: printable characters and '\n' (no tabs, CR, BOM or Unicode line separators).
func precheck(src string) (ascii, ok bool) {
	ascii = true
	for i := 0; i < len(src); {
		c := src[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\n') || c == 0x7f {
				return false, false
			}
			i++
			continue
		}
		ascii = false
		r, size := utf8.DecodeRuneInString(src[i:])
		if r == utf8.RuneError && size <= 1 {
			return false, false
		}
		switch {
		case r == 0xFEFF, r == 0x2028, r == 0x2029:
			return false, false
		case r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false, false
		}
		i += size
	}
	return ascii, true
}

func (f *fast) bail() { panic(bailout{}) }

// colAt returns the 1-based column (in code points) of index i on the cursor's line.
func (f *fast) colAt(i int) int32 {
	if f.ascii {
		return int32(i - f.ls + 1)
	}
	return int32(utf8.RuneCountInString(f.src[f.ls:i]) + 1)
}

func (f *fast) at(i int) byte {
	if i < len(f.src) {
		return f.src[i]
	}
	return 0
}

// blankz: space, line break or end of input.
func (f *fast) blankz(i int) bool {
	if i >= len(f.src) {
		return true
	}
	c := f.src[i]
	return c == ' ' || c == '\n'
}

func (f *fast) newline() {
	f.p++
	f.line++
	f.ls = f.p
	f.content = false
}

// nextContent moves to the first non-space character of the next line holding content, skipping
// blank and comment lines. The cursor must be at a line start (or already at content). It
// returns that line's indentation, or ok=false at the end of input.
func (f *fast) nextContent() (indent int, ok bool) {
	if f.content {
		return f.indent, true
	}
	for {
		i := f.p
		for i < len(f.src) && f.src[i] == ' ' {
			i++
		}
		if i >= len(f.src) {
			f.p = i
			return 0, false
		}
		switch f.src[i] {
		case '\n':
			f.p = i
			f.newline()
			continue
		case '#':
			j := strings.IndexByte(f.src[i:], '\n')
			if j < 0 {
				f.p = len(f.src)
				return 0, false
			}
			f.p = i + j
			f.newline()
			continue
		}
		f.p = i
		f.content = true
		f.indent = i - f.ls
		return f.indent, true
	}
}

// consume marks the cursor as moved off the line's first content character.
func (f *fast) consume(n int) {
	f.p += n
	f.content = false
}

// restOfLine accepts trailing spaces and a comment, and moves to the next line start.
func (f *fast) restOfLine() {
	f.content = false
	for f.p < len(f.src) && f.src[f.p] == ' ' {
		f.p++
	}
	if f.p >= len(f.src) {
		return
	}
	switch f.src[f.p] {
	case '\n':
		f.newline()
		return
	case '#':
		if f.p > f.ls && f.src[f.p-1] != ' ' {
			f.bail() // a comment must follow white space
		}
		j := strings.IndexByte(f.src[f.p:], '\n')
		if j < 0 {
			f.p = len(f.src)
			return
		}
		f.p += j
		f.newline()
		return
	}
	f.bail()
}

// isMarker reports whether the cursor (at column 0) is at `---` or `...` followed by blank.
func (f *fast) isMarker(m string) bool {
	return f.p == f.ls && strings.HasPrefix(f.src[f.p:], m) && f.blankz(f.p+3)
}

func (f *fast) stream() []Node {
	docs := f.docs
	defer func() { f.docs = docs }()
	for {
		indent, ok := f.nextContent()
		if !ok {
			return docs
		}
		if indent == 0 && f.isMarker("...") || indent == 0 && f.src[f.p] == '%' {
			f.bail()
		}
		if indent == 0 && f.isMarker("---") {
			f.consume(3)
			f.restOfLine()
			indent, ok = f.nextContent()
			if !ok || indent == 0 && f.isMarker("---") {
				continue // empty document
			}
			if indent == 0 && f.isMarker("...") {
				f.bail()
			}
		}
		docs = append(docs, f.node(-1, ctxLine))
		indent, ok = f.nextContent()
		if ok && !(indent == 0 && f.isMarker("---")) {
			f.bail()
		}
	}
}

// Contexts of a node: at the start of a line, after `key: `, after `- `.
const (
	ctxLine = iota
	ctxKey
	ctxDash
)

// node parses the node at the cursor. parent is the indentation of the enclosing block
// collection (-1 at the root); ctx says what precedes the node on its line.
func (f *fast) node(parent int, ctx int) Node {
	f.depth++
	if f.depth > maxFastDepth {
		f.bail()
	}
	defer func() { f.depth-- }()
	col := f.p - f.ls // byte offset on the line; only ASCII precedes block structure
	c := f.src[f.p]
	switch c {
	case '-':
		if f.blankz(f.p + 1) {
			if ctx == ctxKey {
				f.bail()
			}
			return f.blockSeq(col)
		}
	case '[', '{':
		n := f.flow(parent)
		for f.p < len(f.src) && f.src[f.p] == ' ' {
			f.p++
		}
		if f.at(f.p) == ':' {
			f.bail() // a flow collection as a key
		}
		f.restOfLine()
		return n
	case '|':
		return f.literal(parent)
	case '>', '!', '&', '*', '?', '%', '@', '`', ',', ']', '}', '#', ':':
		f.bail()
	}
	// A scalar, or the first key of a block mapping.
	key := f.scalar(false)
	for f.p < len(f.src) && f.src[f.p] == ' ' {
		f.p++
	}
	if f.at(f.p) == ':' && f.blankz(f.p+1) {
		if ctx == ctxKey {
			f.bail()
		}
		return f.blockMap(col, key)
	}
	f.restOfLine()
	return key
}

// push appends n to the scratch stack; collection returns the nodes pushed since start as a
// new slice and pops them.
func (f *fast) push(n Node) { f.stack = append(f.stack, n) }

func (f *fast) collection(start int) []Node {
	if len(f.stack) == start {
		return nil
	}
	n := len(f.stack) - start
	if cap(f.arena)-len(f.arena) < n {
		// Start a new block; nodes already handed out keep the old one alive.
		f.arena = make([]Node, 0, max(2*cap(f.arena), n, 256))
	}
	i := len(f.arena)
	f.arena = append(f.arena, f.stack[start:]...)
	out := f.arena[i : i+n : i+n]
	clear(f.stack[start:])
	f.stack = f.stack[:start]
	return out
}

// blockMap parses a block mapping at indentation n whose first key has been scanned; the cursor
// is at the ':' after it.
func (f *fast) blockMap(n int, first Node) Node {
	m := Node{Kind: MappingNode, Tag: TagMap, Line: first.Line, Column: first.Column}
	start := len(f.stack)
	key := first
	for {
		if len(key.Value) > 512 {
			f.bail()
		}
		// the cursor is at ':'
		f.consume(1)
		f.push(key)
		f.push(f.value(n))
		indent, ok := f.nextContent()
		if !ok || indent < n || indent == 0 && f.isMarker("---") {
			break
		}
		if indent > n {
			f.bail()
		}
		switch c := f.src[f.p]; c {
		case '-', '[', '{', '|', '>', '!', '&', '*', '?', '%', '@', '`', ',', ']', '}', ':', '#':
			f.bail()
		}
		if indent == 0 && f.isMarker("...") {
			f.bail()
		}
		key = f.scalar(false)
		for f.p < len(f.src) && f.src[f.p] == ' ' {
			f.p++
		}
		if !(f.at(f.p) == ':' && f.blankz(f.p+1)) {
			f.bail()
		}
	}
	m.Content = f.collection(start)
	return m
}

// value parses the value after `key:` of a block mapping at indentation n.
func (f *fast) value(n int) Node {
	for f.p < len(f.src) && f.src[f.p] == ' ' {
		f.p++
	}
	if f.p >= len(f.src) || f.src[f.p] == '\n' || f.src[f.p] == '#' {
		f.restOfLine()
		indent, ok := f.nextContent()
		switch {
		case ok && indent > n:
			return f.node(n, ctxLine)
		case ok && indent == n && f.src[f.p] == '-' && f.blankz(f.p+1):
			return f.blockSeq(n) // indentless sequence
		}
		f.bail() // empty value
	}
	return f.node(n, ctxKey)
}

// blockSeq parses a block sequence whose entries are at indentation n; the cursor is at the
// first '-'.
func (f *fast) blockSeq(n int) Node {
	s := Node{Kind: SequenceNode, Tag: TagSeq, Line: f.line, Column: f.colAt(f.p)}
	start := len(f.stack)
	for {
		f.consume(1)
		for f.p < len(f.src) && f.src[f.p] == ' ' {
			f.p++
		}
		if f.p >= len(f.src) || f.src[f.p] == '\n' || f.src[f.p] == '#' {
			f.restOfLine()
			indent, ok := f.nextContent()
			if !ok || indent <= n {
				f.bail() // empty entry
			}
			f.push(f.node(n, ctxLine))
		} else {
			f.push(f.node(n, ctxDash))
		}
		indent, ok := f.nextContent()
		if !ok || indent < n || indent == 0 && f.isMarker("---") {
			break
		}
		if indent > n {
			f.bail()
		}
		if !(f.src[f.p] == '-' && f.blankz(f.p+1)) {
			break // an indentless sequence ends; the parent mapping continues
		}
	}
	s.Content = f.collection(start)
	return s
}

// scalar scans a plain or quoted scalar on the current line.
func (f *fast) scalar(flow bool) Node {
	switch f.src[f.p] {
	case '"':
		return f.doubleQuoted()
	case '\'':
		return f.singleQuoted()
	}
	c := f.src[f.p]
	switch c {
	case '-', '?', ':':
		if f.blankz(f.p+1) || c != '-' {
			f.bail()
		}
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '%', '@', '`':
		f.bail()
	}
	n := Node{Kind: ScalarNode, Line: f.line, Column: f.colAt(f.p)}
	start := f.p
	end := f.p
	i := f.p
loop:
	for i < len(f.src) {
		switch c := f.src[i]; c {
		case '\n':
			break loop
		case ' ':
			j := i + 1
			for j < len(f.src) && f.src[j] == ' ' {
				j++
			}
			if j >= len(f.src) || f.src[j] == '\n' || f.src[j] == '#' {
				break loop
			}
			i = j
			continue
		case ':':
			if f.blankz(i + 1) {
				break loop
			}
		case ',', '?', '[', ']', '{', '}':
			if flow {
				break loop
			}
		}
		i++
		end = i
	}
	f.content = false
	f.p = end
	n.Value = f.src[start:end]
	n.Tag = resolvePlain(n.Value)
	if n.Tag == TagMerge {
		f.merge = true
	}
	if flow && f.at(f.p) == '?' {
		f.bail()
	}
	// A document marker inside a scalar line cannot occur: markers are at column 0 and the
	// callers check them before scanning.
	return n
}

func (f *fast) singleQuoted() Node {
	n := Node{Kind: ScalarNode, Tag: TagStr, Style: SingleQuoted, Line: f.line, Column: f.colAt(f.p)}
	i := f.p + 1
	start := i
	var b []byte
	for {
		j := strings.IndexAny(f.src[i:], "'\n")
		if j < 0 || f.src[i+j] == '\n' {
			f.bail() // unterminated on this line
		}
		i += j
		if f.at(i+1) == '\'' {
			if b == nil {
				b = f.buf[:0]
			}
			b = append(b, f.src[start:i+1]...)
			i += 2
			start = i
			continue
		}
		break
	}
	if b == nil {
		n.Value = f.src[start:i]
	} else {
		b = append(b, f.src[start:i]...)
		n.Value = string(b)
		f.buf = b[:0]
	}
	f.consume(i + 1 - f.p)
	return n
}

func (f *fast) doubleQuoted() Node {
	n := Node{Kind: ScalarNode, Tag: TagStr, Style: DoubleQuoted, Line: f.line, Column: f.colAt(f.p)}
	i := f.p + 1
	start := i
	var b []byte
	escaped := false
	for {
		j := strings.IndexAny(f.src[i:], "\"\\\n")
		if j < 0 || f.src[i+j] == '\n' {
			f.bail()
		}
		i += j
		if f.src[i] == '"' {
			break
		}
		// an escape
		if !escaped {
			b = f.buf[:0]
			escaped = true
		}
		b = append(b, f.src[start:i]...)
		i++
		if i >= len(f.src) {
			f.bail()
		}
		e := f.src[i]
		i++
		width := 0
		switch e {
		case '0':
			b = append(b, 0)
		case 'a':
			b = append(b, 7)
		case 'b':
			b = append(b, 8)
		case 't':
			b = append(b, 9)
		case 'n':
			b = append(b, 10)
		case 'v':
			b = append(b, 11)
		case 'f':
			b = append(b, 12)
		case 'r':
			b = append(b, 13)
		case 'e':
			b = append(b, 0x1b)
		case ' ', '"', '\'', '\\':
			b = append(b, e)
		case 'N':
			b = append(b, "\u0085"...)
		case '_':
			b = append(b, "\u00a0"...)
		case 'L':
			b = append(b, "\u2028"...)
		case 'P':
			b = append(b, "\u2029"...)
		case 'x':
			width = 2
		case 'u':
			width = 4
		case 'U':
			width = 8
		default:
			f.bail()
		}
		if width > 0 {
			if i+width > len(f.src) {
				f.bail()
			}
			v := 0
			for k := 0; k < width; k++ {
				h := f.src[i+k]
				switch {
				case h >= '0' && h <= '9':
					v = v<<4 | int(h-'0')
				case h >= 'a' && h <= 'f':
					v = v<<4 | int(h-'a'+10)
				case h >= 'A' && h <= 'F':
					v = v<<4 | int(h-'A'+10)
				default:
					f.bail()
				}
			}
			if v >= 0xD800 && v <= 0xDFFF || v > 0x10FFFF {
				f.bail()
			}
			b = utf8.AppendRune(b, rune(v))
			i += width
		}
		start = i
	}
	if escaped {
		b = append(b, f.src[start:i]...)
		n.Value = string(b)
		f.buf = b[:0]
	} else {
		n.Value = f.src[start:i]
	}
	f.consume(i + 1 - f.p)
	return n
}

// literal parses a literal block scalar (`|` or `|-`) of a node whose parent block collection
// is at indentation parent.
func (f *fast) literal(parent int) Node {
	if parent < 0 {
		f.bail()
	}
	n := Node{Kind: ScalarNode, Tag: TagStr, Style: Literal, Line: f.line, Column: f.colAt(f.p)}
	f.consume(1)
	strip := false
	if f.at(f.p) == '-' {
		strip = true
		f.p++
	}
	if c := f.at(f.p); c != ' ' && c != '\n' && c != 0 {
		f.bail() // keep chomping, indentation indicators, text after the header
	}
	if f.p >= len(f.src) {
		f.bail()
	}
	f.restOfLine()
	// Leading empty lines and the content indentation.
	maxEmpty := 0
	ci := -1
	for i := f.p; i < len(f.src); {
		j := i
		for j < len(f.src) && f.src[j] == ' ' {
			j++
		}
		if j >= len(f.src) {
			break
		}
		if f.src[j] == '\n' {
			maxEmpty = max(maxEmpty, j-i)
			i = j + 1
			continue
		}
		ci = j - i
		break
	}
	if ci <= parent || maxEmpty > ci {
		f.bail() // empty block scalar or an over-indented leading line
	}
	b := f.buf[:0]
	trailing := 0 // line breaks after the last content line
	for f.p < len(f.src) {
		j := f.p
		for j < len(f.src) && f.src[j] == ' ' {
			j++
		}
		if j >= len(f.src) {
			if j > f.p && j-f.p > ci {
				f.bail()
			}
			f.p = j
			break
		}
		if f.src[j] == '\n' {
			if j-f.p > ci {
				f.bail() // white space beyond the indentation on an empty line
			}
			trailing++
			f.p = j
			f.newline()
			continue
		}
		if j-f.p < ci {
			break // the scalar ends
		}
		for ; trailing > 0; trailing-- {
			b = append(b, '\n')
		}
		e := strings.IndexByte(f.src[j:], '\n')
		if e < 0 {
			f.bail() // content running to the end of input without a line break
		}
		b = append(b, f.src[f.p+ci:j+e]...)
		trailing = 1
		f.p = j + e
		f.newline()
	}
	if !strip {
		b = append(b, '\n')
	}
	n.Value = string(b)
	f.buf = b[:0]
	f.content = false
	return n
}

// flow parses a flow collection at the cursor; parent is the indentation of the enclosing
// block collection (continuation lines must be indented more).
func (f *fast) flow(parent int) Node {
	f.depth++
	if f.depth > maxFastDepth {
		f.bail()
	}
	defer func() { f.depth-- }()
	open := f.src[f.p]
	n := Node{Style: Flow, Line: f.line, Column: f.colAt(f.p)}
	closeCh := byte(']')
	if open == '{' {
		n.Kind, n.Tag, closeCh = MappingNode, TagMap, '}'
	} else {
		n.Kind, n.Tag = SequenceNode, TagSeq
	}
	f.consume(1)
	start := len(f.stack)
	for {
		f.flowSpace(parent)
		if f.at(f.p) == closeCh {
			f.p++
			break
		}
		if open == '{' {
			k := f.flowItem(parent)
			if k.Kind != ScalarNode || len(k.Value) > 512 {
				f.bail()
			}
			for f.p < len(f.src) && f.src[f.p] == ' ' {
				f.p++
			}
			if f.at(f.p) != ':' || !f.blankz(f.p+1) {
				f.bail()
			}
			f.p++
			f.flowSpace(parent)
			if c := f.at(f.p); c == ',' || c == '}' || c == ']' {
				f.bail() // empty value
			}
			v := f.flowItem(parent)
			f.push(k)
			f.push(v)
		} else {
			f.push(f.flowItem(parent))
		}
		f.flowSpace(parent)
		switch f.at(f.p) {
		case ',':
			f.p++
			continue
		case closeCh:
			f.p++
		default:
			f.bail()
		}
		break
	}
	n.Content = f.collection(start)
	f.content = false
	return n
}

// flowItem parses a node inside a flow collection.
func (f *fast) flowItem(parent int) Node {
	if f.p >= len(f.src) {
		f.bail()
	}
	switch f.src[f.p] {
	case '[', '{':
		return f.flow(parent)
	}
	n := f.scalar(true)
	// The scalar must end on this line at an indicator, or be followed by one after white space
	// on the same line: anything else would continue a multi-line plain scalar.
	i := f.p
	for i < len(f.src) && f.src[i] == ' ' {
		i++
	}
	switch f.at(i) {
	case ',', ']', '}', ':':
	case '\n', '#', 0:
		// The next token must be a separator or a closing bracket.
		save := *f
		f.flowSpace(parent)
		c := f.at(f.p)
		*f = save
		if c != ',' && c != ']' && c != '}' {
			f.bail()
		}
	default:
		f.bail()
	}
	return n
}

// flowSpace skips white space, line breaks and comments inside a flow collection.
func (f *fast) flowSpace(parent int) {
	f.content = false
	for f.p < len(f.src) {
		switch f.src[f.p] {
		case ' ':
			f.p++
		case '\n':
			f.newline()
			i := f.p
			for i < len(f.src) && f.src[i] == ' ' {
				i++
			}
			if i < len(f.src) && f.src[i] != '\n' && f.src[i] != '#' && i-f.ls <= parent {
				f.bail()
			}
			if i == f.ls && (strings.HasPrefix(f.src[i:], "---") || strings.HasPrefix(f.src[i:], "...")) {
				f.bail()
			}
			f.p = i
		case '#':
			if f.p > f.ls && f.src[f.p-1] != ' ' {
				f.bail()
			}
			j := strings.IndexByte(f.src[f.p:], '\n')
			if j < 0 {
				f.p = len(f.src)
				return
			}
			f.p += j
		default:
			return
		}
	}
}
