package loaders

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Structural limits, checked while a file (or the environment) is read and before anything
// costly is built from it. The schema's deepest path is about 6 levels
// (profiles.x.auth.per_host[0].password.env); the margins are wide.
var limits = struct {
	// Depth is the deepest nesting of tables and lists, counting every segment of a
	// dotted key.
	Depth int
	// KeySegments is the most segments one key may have (a.b.c has 3; a table header
	// [profiles.x.tls] too; an environment variable name separated by "__" too).
	KeySegments int
	// KeysPerTable is the most keys one table may hold (the profiles table holds one per
	// profile).
	KeysPerTable int
	// AliasNodes bounds what YAML aliases may expand to, in values.
	AliasNodes int
}{Depth: 32, KeySegments: 32, KeysPerTable: 1_000_000, AliasNodes: 1_000_000}

// parseError is a malformed or refused file: a position and a reason, never a value from
// the file (a secret file given as a configuration file must not leak through it).
type parseError struct {
	line, col int // 1-based; 0 when unknown
	msg       string
}

func (e *parseError) Error() string {
	switch {
	case e.line > 0 && e.col > 0:
		return fmt.Sprintf("line %d, column %d: %s", e.line, e.col, e.msg)
	case e.line > 0:
		return fmt.Sprintf("line %d: %s", e.line, e.msg)
	}
	return e.msg
}

// nullValue is an explicit null (YAML `key:` or `~`, JSON null) at a config path.
type nullValue struct {
	path      string
	line, col int
}

// keyPath is a config path built only when a message needs it.
type keyPath struct {
	parent *keyPath
	key    string
	index  int // -1 for a key
}

func (p *keyPath) child(k string) *keyPath { return &keyPath{parent: p, key: k, index: -1} }
func (p *keyPath) elem(i int) *keyPath     { return &keyPath{parent: p, index: i} }
func (p *keyPath) String() string {
	if p == nil {
		return ""
	}
	var parts []*keyPath
	for q := p; q != nil; q = q.parent {
		parts = append(parts, q)
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		q := parts[i]
		if q.index >= 0 {
			fmt.Fprintf(&b, "[%d]", q.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(q.key)
	}
	return b.String()
}

// positions turns byte offsets into lines and columns (columns count bytes).
type positions struct{ nl []int }

func newPositions(b []byte) *positions {
	p := &positions{}
	for i, c := range b {
		if c == '\n' {
			p.nl = append(p.nl, i)
		}
	}
	return p
}

func (p *positions) at(off int) (line, col int) {
	i := sort.SearchInts(p.nl, off) // newlines before off
	start := 0
	if i > 0 {
		start = p.nl[i-1] + 1
	}
	return i + 1, off - start + 1
}

// checkUTF8 refuses a file that is not valid UTF-8: parsers would replace the bytes
// silently, so that what is used is not what was written.
func checkUTF8(b []byte) error {
	if utf8.Valid(b) {
		return nil
	}
	off := 0
	for off < len(b) {
		r, n := utf8.DecodeRune(b[off:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		off += n
	}
	line := bytes.Count(b[:off], []byte("\n")) + 1
	col := off - (bytes.LastIndexByte(b[:off], '\n') + 1) + 1
	return &parseError{line: line, col: col, msg: "not valid UTF-8 (the configuration must be UTF-8 text)"}
}

// treeBuilder inserts keys into nested tables, splitting keys at dots (as koanf does, so
// that `a.b: 1` in YAML means a: {b: 1}), and refuses what would otherwise be decided by
// order or silently lost: a key given twice, nesting beyond the limits, too many keys.
type treeBuilder struct {
	nulls []nullValue
}

// set puts v at key (a possibly dotted key) in m, whose config path is parent and depth
// depth. line and col locate the key, for messages.
func (tb *treeBuilder) set(m map[string]any, parent *keyPath, depth int, key string, v any, line, col int) error {
	segs := strings.Split(key, ".")
	if len(segs) > limits.KeySegments {
		return &parseError{line: line, col: col, msg: fmt.Sprintf("key has %d segments, more than the limit of %d", len(segs), limits.KeySegments)}
	}
	if depth+len(segs) > limits.Depth {
		return &parseError{line: line, col: col, msg: fmt.Sprintf("nesting deeper than the limit of %d levels", limits.Depth)}
	}
	p := parent
	for i, s := range segs {
		p = p.child(s)
		if i == len(segs)-1 {
			break
		}
		switch c := m[s].(type) {
		case nil:
			if _, ok := m[s]; ok {
				return tb.dup(p, line, col, 0, 0)
			}
			n := map[string]any{}
			if err := tb.addKey(m, s, n, p, line, col); err != nil {
				return err
			}
			m = n
		case map[string]any:
			m = c
		default:
			return tb.dup(p, line, col, 0, 0)
		}
	}
	last := segs[len(segs)-1]
	if v == nil {
		tb.nulls = append(tb.nulls, nullValue{path: p.String(), line: line, col: col})
		return nil
	}
	if old, ok := m[last]; ok {
		om, ok1 := old.(map[string]any)
		nm, ok2 := v.(map[string]any)
		if !ok1 || !ok2 {
			return tb.dup(p, line, col, 0, 0)
		}
		// a.b: 1 next to a: {c: 2}: both parts of one table.
		for _, k := range sortedKeys(nm) {
			if err := tb.set(om, p, depth+len(segs), k, nm[k], line, col); err != nil {
				return err
			}
		}
		return nil
	}
	return tb.addKey(m, last, v, p, line, col)
}

func (tb *treeBuilder) addKey(m map[string]any, k string, v any, p *keyPath, line, col int) error {
	if len(m) >= limits.KeysPerTable {
		return &parseError{line: line, col: col, msg: fmt.Sprintf("table %s has more than the limit of %d keys", p.parent.String(), limits.KeysPerTable)}
	}
	m[k] = v
	return nil
}

func (tb *treeBuilder) dup(p *keyPath, line, col, line0, col0 int) error {
	msg := fmt.Sprintf("duplicate key %s", p.String())
	if line0 > 0 {
		msg += fmt.Sprintf(" (first at line %d, column %d)", line0, col0)
	}
	return &parseError{line: line, col: col, msg: msg}
}

// redactQuoted removes every quoted span (`...`, "...", '...') from a parser's message,
// except short punctuation such as '=' or ']': parsers quote what they found, and what
// they found may be a secret.
func redactQuoted(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c != '"' && c != '\'' && c != '`' {
			b.WriteByte(c)
			continue
		}
		j := strings.IndexByte(msg[i+1:], c)
		if j < 0 {
			b.WriteString(msg[i:])
			break
		}
		span := msg[i+1 : i+1+j]
		if isPunct(span) {
			b.WriteString(msg[i : i+2+j])
		} else {
			b.WriteString("(not shown)")
		}
		i += j + 1
	}
	return b.String()
}

func isPunct(s string) bool {
	if s == "" || len(s) > 6 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune(`=[]{},.:'"`+"`", r) {
			return false
		}
	}
	return true
}

// nullProblems reports every explicit null. In any layer an empty value is a mistake (a
// block whose children were commented out, `ca:` with nothing after it), never a way to
// delete what a lower layer set: that would turn a verify-full profile into plaintext.
func (l *loader) nullProblems(nulls []nullValue, source string) {
	for _, n := range nulls {
		where := ""
		if n.line > 0 {
			where = fmt.Sprintf(" at line %d", n.line)
		}
		l.add(n.path, source, "empty value%s; remove the key or give it a value", where)
	}
}

// dropNulls removes nil values (and nil list entries) from m, returning where they were.
func dropNulls(m map[string]any, path *keyPath) []nullValue {
	var out []nullValue
	for _, k := range sortedKeys(m) {
		p := path.child(k)
		switch v := m[k].(type) {
		case nil:
			out = append(out, nullValue{path: p.String()})
			delete(m, k)
		case map[string]any:
			out = append(out, dropNulls(v, p)...)
		case []any:
			kept := v[:0]
			for i, e := range v {
				if e == nil {
					out = append(out, nullValue{path: p.elem(i).String()})
					continue
				}
				if em, ok := e.(map[string]any); ok {
					out = append(out, dropNulls(em, p.elem(i))...)
				}
				kept = append(kept, e)
			}
			m[k] = kept
		}
	}
	return out
}
