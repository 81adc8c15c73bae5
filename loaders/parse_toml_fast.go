package loaders

import (
	"reflect"
	"strconv"
	"unsafe"
)

// fastTOML parses the TOML that configurations are written in straight into the tree
// parseTOML's slow path (BurntSushi/toml, then tomlRedefined over its metadata, then
// tomlInto's copy) would build, in one pass: at 100,000 profiles the slow path was half
// of a load's CPU and most of its garbage. It takes a strict subset of TOML 1.0 and
// reports false for anything else, and for every error, so that the slow path parses the
// document again and words the problem: the fast parser never writes a message, and
// never accepts what the slow path refuses (TestFastTOMLMatchesSlowPath runs both on
// every TOML file of the module, the toml-test corpus and the fuzz seeds;
// FuzzFastTOML keeps looking).
//
// The subset: comments; [table] and [[array of tables]] headers; bare keys and quoted
// keys without escapes or dots, dotted; single-line basic strings without escapes and
// literal strings; decimal integers and floats without underscores; booleans; arrays;
// inline tables. Not in it (the slow path handles them): escapes, multi-line strings,
// dates and times, hexadecimal, octal and binary integers, underscores in numbers, inf
// and nan, and any redefinition the specification leaves to interpretation (a dotted
// key reaching into a table that a header or an inline table defined).
func fastTOML(b []byte) (map[string]any, bool) {
	p := &fastParser{s: string(b), root: map[string]any{}, kind: map[unsafe.Pointer]tableKind{}}
	p.kind[mapID(p.root)] = kindHeader
	m, ok := p.run()
	return m, ok
}

// tableKind is how a table (other than an inline one, which has none) was defined.
type tableKind uint8

const (
	kindInline   tableKind = iota // sealed: the zero value, for tables not in fastParser.kind
	kindImplicit                  // created as a prefix of a header: [a.b] creates a
	kindHeader                    // defined by its own [header] (or the root)
	kindDotted                    // created by a dotted key: a.b = 1 creates a
)

type fastParser struct {
	s    string
	i    int
	root map[string]any
	// kind is the kind of every table but inline ones, by map identity.
	kind map[unsafe.Pointer]tableKind
	// aots are the arrays of tables ([[a]]), by their table and key.
	aots map[aotKey]bool
	segs []string // the key being read
}

type aotKey struct {
	table unsafe.Pointer
	key   string
}

// mapID is the identity of a map (the pointer a map value is).
func mapID(m map[string]any) unsafe.Pointer { return reflect.ValueOf(m).UnsafePointer() }

func (p *fastParser) run() (map[string]any, bool) {
	cur, depth := p.root, 0
	for {
		p.blanks()
		if p.i >= len(p.s) {
			return p.root, true
		}
		switch p.s[p.i] {
		case '\n', '\r', '#':
		case '[':
			var ok bool
			if cur, depth, ok = p.header(); !ok {
				return nil, false
			}
		default:
			if !p.keyValue(cur, depth) {
				return nil, false
			}
		}
		if !p.lineEnd() {
			return nil, false
		}
	}
}

// lineEnd reads blanks, an optional comment and the end of the line (or of the input).
func (p *fastParser) lineEnd() bool {
	p.blanks()
	if p.i < len(p.s) && p.s[p.i] == '#' && !p.comment() {
		return false
	}
	return p.newline() || p.i >= len(p.s)
}

// newline reads "\n" or "\r\n".
func (p *fastParser) newline() bool {
	switch {
	case p.i < len(p.s) && p.s[p.i] == '\n':
		p.i++
	case p.i+1 < len(p.s) && p.s[p.i] == '\r' && p.s[p.i+1] == '\n':
		p.i += 2
	default:
		return false
	}
	return true
}

// comment reads a comment up to (not including) its line's end; control characters
// other than tab are refused.
func (p *fastParser) comment() bool {
	for p.i++; p.i < len(p.s); p.i++ {
		c := p.s[p.i]
		if c == '\n' || c == '\r' && p.i+1 < len(p.s) && p.s[p.i+1] == '\n' {
			return true
		}
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func (p *fastParser) blanks() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// blankLines reads blanks, newlines and comments (between the elements of an array).
func (p *fastParser) blankLines() bool {
	for {
		p.blanks()
		switch {
		case p.i >= len(p.s):
			return true
		case p.s[p.i] == '#':
			if !p.comment() {
				return false
			}
		case !p.newline():
			return true
		}
	}
}

// key reads a (dotted) key into p.segs.
func (p *fastParser) key() bool {
	p.segs = p.segs[:0]
	for {
		p.blanks()
		if p.i >= len(p.s) {
			return false
		}
		start := p.i
		var seg string
		switch c := p.s[p.i]; {
		case c == '"' || c == '\'':
			var ok bool
			if seg, ok = p.str(); !ok || seg == "" {
				return false
			}
			for j := 0; j < len(seg); j++ {
				if seg[j] == '.' { // the slow path splits it, as koanf does
					return false
				}
			}
		default:
			for p.i < len(p.s) && isBareKey(p.s[p.i]) {
				p.i++
			}
			if p.i == start {
				return false
			}
			seg = p.s[start:p.i]
		}
		p.segs = append(p.segs, seg)
		if len(p.segs) > limits.KeySegments {
			return false
		}
		p.blanks()
		if p.i >= len(p.s) || p.s[p.i] != '.' {
			return true
		}
		p.i++
	}
}

// header reads [a.b] or [[a.b]] and returns the table that the lines after it fill.
func (p *fastParser) header() (map[string]any, int, bool) {
	p.i++
	array := p.i < len(p.s) && p.s[p.i] == '['
	if array {
		p.i++
	}
	if !p.key() || p.i >= len(p.s) || p.s[p.i] != ']' {
		return nil, 0, false
	}
	p.i++
	if array {
		if p.i >= len(p.s) || p.s[p.i] != ']' {
			return nil, 0, false
		}
		p.i++
	}
	t, depth, ok := p.prefix(p.root, 0, true)
	if !ok {
		return nil, 0, false
	}
	seg := p.segs[len(p.segs)-1]
	depth++
	old, exists := t[seg]
	n := map[string]any{}
	switch {
	case array && !exists:
		if !p.put(t, seg, []any{n}, depth) {
			return nil, 0, false
		}
		if p.aots == nil {
			p.aots = map[aotKey]bool{}
		}
		p.aots[aotKey{mapID(t), seg}] = true
	case array:
		l, ok := old.([]any)
		if !ok || !p.aots[aotKey{mapID(t), seg}] {
			return nil, 0, false
		}
		t[seg] = append(l, n)
	case !exists:
		if !p.put(t, seg, n, depth) {
			return nil, 0, false
		}
	default:
		m, ok := old.(map[string]any)
		if !ok || p.kind[mapID(m)] != kindImplicit {
			return nil, 0, false
		}
		p.kind[mapID(m)] = kindHeader
		return m, depth, true
	}
	if array {
		depth++ // the element
	}
	p.kind[mapID(n)] = kindHeader
	return n, depth, true
}

// prefix walks the segments of p.segs but the last from t (a table at depth), creating
// the tables it lacks, and returns the last table and its depth. A header's walk creates
// implicit tables and may go through any table but an inline one, and into the last
// element of an array of tables; a dotted key's creates dotted tables and may go only
// through tables that dotted keys made (in this table's section: no header can reopen
// one).
func (p *fastParser) prefix(t map[string]any, depth int, header bool) (map[string]any, int, bool) {
	kind := kindDotted
	if header {
		kind = kindImplicit
	}
	for _, seg := range p.segs[:len(p.segs)-1] {
		depth++
		switch v := t[seg].(type) {
		case nil: // absent: the tree holds no nil
			var ok bool
			if t, ok = p.create(t, seg, depth, kind); !ok {
				return nil, 0, false
			}
		case map[string]any:
			if k := p.kind[mapID(v)]; header && k == kindInline || !header && k != kindDotted {
				return nil, 0, false
			}
			t = v
		case []any:
			if !header || !p.aots[aotKey{mapID(t), seg}] {
				return nil, 0, false
			}
			t = v[len(v)-1].(map[string]any)
			depth++
		default:
			return nil, 0, false
		}
	}
	return t, depth, true
}

// create adds a new table of kind kind at t[k], which t lacks; depth is the key's.
func (p *fastParser) create(t map[string]any, k string, depth int, kind tableKind) (map[string]any, bool) {
	n := map[string]any{}
	if !p.put(t, k, n, depth) {
		return nil, false
	}
	p.kind[mapID(n)] = kind
	return n, true
}

// put adds a key that t lacks; depth is the key's.
func (p *fastParser) put(t map[string]any, k string, v any, depth int) bool {
	if len(t) >= limits.KeysPerTable || depth > limits.Depth {
		return false
	}
	t[k] = v
	return true
}

// keyValue reads key = value into t, a table at depth.
func (p *fastParser) keyValue(t map[string]any, depth int) bool {
	if !p.key() {
		return false
	}
	t, depth, ok := p.prefix(t, depth, false)
	if !ok {
		return false
	}
	seg := p.segs[len(p.segs)-1] // read before the value, which may read keys of its own
	depth++
	if p.i >= len(p.s) || p.s[p.i] != '=' {
		return false
	}
	p.i++
	p.blanks()
	v, ok := p.value(depth)
	if !ok {
		return false
	}
	if _, exists := t[seg]; exists {
		return false
	}
	return p.put(t, seg, v, depth)
}

// value reads a value at depth (its key's, or its array element's).
func (p *fastParser) value(depth int) (any, bool) {
	if p.i >= len(p.s) || depth > limits.Depth+1 {
		return nil, false
	}
	switch c := p.s[p.i]; {
	case c == '"' || c == '\'':
		return p.str()
	case c == 't' || c == 'f':
		for _, w := range [...]string{"true", "false"} {
			if len(p.s)-p.i >= len(w) && p.s[p.i:p.i+len(w)] == w {
				p.i += len(w)
				return w == "true", true
			}
		}
		return nil, false
	case c == '[':
		return p.array(depth)
	case c == '{':
		return p.inlineTable(depth)
	case c >= '0' && c <= '9' || c == '+' || c == '-':
		return p.number()
	}
	return nil, false
}

// str reads a one-line basic string without escapes, or a one-line literal string.
func (p *fastParser) str() (string, bool) {
	q := p.s[p.i]
	if p.i+2 < len(p.s) && p.s[p.i+1] == q && p.s[p.i+2] == q {
		return "", false // multi-line
	}
	start := p.i + 1
	for p.i = start; p.i < len(p.s); p.i++ {
		c := p.s[p.i]
		switch {
		case c == q:
			p.i++
			return p.s[start : p.i-1], true
		case c == '\\' && q == '"', c < 0x20 && c != '\t', c == 0x7f:
			return "", false
		}
	}
	return "", false
}

// number reads a decimal integer (int64) or float (float64).
func (p *fastParser) number() (any, bool) {
	start := p.i
	if c := p.s[p.i]; c == '+' || c == '-' {
		p.i++
	}
	switch {
	case p.i >= len(p.s):
		return nil, false
	case p.s[p.i] == '0':
		p.i++
	case p.s[p.i] >= '1' && p.s[p.i] <= '9':
		p.digits()
	default:
		return nil, false // inf, nan
	}
	float := false
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if !p.digits() {
			return nil, false
		}
		float = true
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if !p.digits() {
			return nil, false
		}
		float = true
	}
	text := p.s[start:p.i]
	if float {
		f, err := strconv.ParseFloat(text, 64)
		return f, err == nil
	}
	n, err := strconv.ParseInt(text, 10, 64)
	return n, err == nil
}

// digits reads one or more decimal digits.
func (p *fastParser) digits() bool {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// array reads [v, ...] (newlines and comments allowed, a trailing comma too); its
// elements are at depth+1.
func (p *fastParser) array(depth int) (any, bool) {
	p.i++
	l := []any{}
	for {
		if !p.blankLines() || p.i >= len(p.s) {
			return nil, false
		}
		if p.s[p.i] == ']' {
			p.i++
			return l, true
		}
		v, ok := p.value(depth + 1)
		if !ok || !p.blankLines() || p.i >= len(p.s) {
			return nil, false
		}
		l = append(l, v)
		if more, ok := p.separator(']'); !more {
			return l, ok
		}
	}
}

// separator reads ',' after an element (more follow) or end, the container's closing
// bracket; ok is false for anything else.
func (p *fastParser) separator(end byte) (more, ok bool) {
	switch p.s[p.i] {
	case ',':
		p.i++
		return true, true
	case end:
		p.i++
		return false, true
	}
	return false, false
}

// inlineTable reads { k = v, ... } on one line, without a trailing comma.
func (p *fastParser) inlineTable(depth int) (any, bool) {
	p.i++
	m := map[string]any{}
	p.blanks()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return m, true
	}
	for {
		if !p.keyValue(m, depth) {
			return nil, false
		}
		p.blanks()
		if p.i >= len(p.s) {
			return nil, false
		}
		if more, ok := p.separator('}'); !more {
			return m, ok
		}
	}
}
