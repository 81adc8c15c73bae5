package loaders

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// parseTOML parses TOML with fastTOML (the subset configurations are written in, in one
// pass) or else with BurntSushi/toml, which is linear in the number of tables and
// keys (go-toml v2's duplicate-key tracker is quadratic in the tables of one document).
// A cheap scan first bounds nesting and key length, since the parser's own cost grows
// with the square of a dotted key's segments. Datetimes stay time.Time values (not
// strings), so that the secret rules can refuse them.
func parseTOML(b []byte) (map[string]any, []nullValue, error) {
	if err := scanTOML(b); err != nil {
		return nil, nil, err
	}
	if m, ok := fastTOML(b); ok {
		return m, nil, nil
	}
	return slowTOML(b)
}

// slowTOML is parseTOML for whatever fastTOML does not take: all of TOML, and every
// error's message.
func slowTOML(b []byte) (map[string]any, []nullValue, error) {
	var raw map[string]any
	md, err := toml.NewDecoder(strings.NewReader(string(b))).Decode(&raw)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			// The parser's own column is off on some errors: derive it from the offset,
			// and give only the line when the two disagree.
			line, col := newPositions(b).at(pe.Position.Start)
			if line != pe.Position.Line {
				line, col = pe.Position.Line, 0
			}
			msg := pe.Message
			if st, n := pe.Position.Start, pe.Position.Len; n > 1 && st >= 0 && st+n <= len(b) {
				// Whatever the parser quotes or not, the offending text itself is not repeated.
				msg = strings.ReplaceAll(msg, string(b[st:st+n]), "(not shown)")
			}
			return nil, nil, &parseError{line: line, col: col, msg: tomlReason(msg)}
		}
		return nil, nil, &parseError{msg: redactQuoted(err.Error())}
	}
	if err := tomlRedefined(md); err != nil {
		return nil, nil, err
	}
	tb := &treeBuilder{}
	m := map[string]any{}
	if err := tomlInto(tb, m, raw, nil, 0); err != nil {
		return nil, nil, err
	}
	return m, tb.nulls, nil
}

// tomlReason is the parser's message with every quoted value removed; key names stay.
func tomlReason(msg string) string {
	if i := strings.Index(msg, " is out of range for "); i >= 0 {
		return "number" + msg[i:] // the number itself is not repeated
	}
	if rest, ok := strings.CutPrefix(msg, "Key '"); ok {
		if i := strings.Index(rest, "' "); i >= 0 {
			return "key " + rest[:i] + redactQuoted(rest[i+1:])
		}
	}
	return redactQuoted(msg)
}

// tomlRedefined refuses what BurntSushi/toml v1.5.0 lets through although TOML forbids
// it: a key set as a value and then used as a table (a.b = 1 then a = 2 keeps only
// a.b, silently), or set twice through an inline table and a dotted key.
func tomlRedefined(md toml.MetaData) error {
	kind := map[string]string{}
	for _, k := range md.Keys() {
		// Keys inside arrays (of tables, or of inline tables) repeat by nature.
		inArray := false
		for i := 1; i < len(k) && !inArray; i++ {
			pre := strings.Join(k[:i], "\x00")
			switch kind[pre] {
			case "Array", "ArrayHash":
				inArray = true
			case "":
				kind[pre] = "implicit"
			case "Hash", "implicit":
			default:
				return &parseError{msg: fmt.Sprintf("duplicate key %s (a value, then a table)", strings.Join(k[:i], "."))}
			}
		}
		full := strings.Join(k, "\x00")
		t := md.Type(k...)
		prev, ok := kind[full]
		switch {
		case !ok || inArray || prev == "implicit" && t == "Hash":
			kind[full] = t
		case prev == "ArrayHash" && t == "ArrayHash":
		default:
			return &parseError{msg: fmt.Sprintf("duplicate key %s", strings.Join(k, "."))}
		}
	}
	return nil
}

// tomlInto copies the parser's tree into m through the tree builder (dotted quoted keys
// split, as koanf splits them; arrays of tables become lists of tables).
func tomlInto(tb *treeBuilder, m, raw map[string]any, path *keyPath, depth int) error {
	for _, k := range sortedKeys(raw) {
		v, err := tomlValue(tb, raw[k], path.child(k), depth+strings.Count(k, ".")+1)
		if err != nil {
			return err
		}
		if err := tb.set(m, path, depth, k, v, 0, 0); err != nil {
			return err
		}
	}
	return nil
}

func tomlValue(tb *treeBuilder, v any, path *keyPath, depth int) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		m := map[string]any{}
		if err := tomlInto(tb, m, t, path, depth); err != nil {
			return nil, err
		}
		return m, nil
	case []map[string]any:
		return tomlList(tb, t, path, depth)
	case []any:
		return tomlList(tb, t, path, depth)
	case time.Time:
		return t, nil
	}
	return v, nil
}

func tomlList[E any](tb *treeBuilder, t []E, path *keyPath, depth int) (any, error) {
	l := make([]any, len(t))
	for i, c := range t {
		x, err := tomlValue(tb, c, path.elem(i), depth+1)
		if err != nil {
			return nil, err
		}
		l[i] = x
	}
	return l, nil
}

// scanTOML bounds a TOML document before it is parsed: nesting of tables, inline tables
// and arrays, counting every segment of dotted keys and table headers, and segments per
// key. It knows strings and comments well enough not to count what is inside them; what
// it cannot make sense of is left to the parser, which reports it.
func scanTOML(b []byte) error {
	s := &tomlScan{b: b}
	return s.run()
}

type tomlScan struct {
	b        []byte
	i        int
	base     int         // path length of the current [table]
	valDepth int         // path length of the value being assigned
	stack    []tomlFrame // open arrays and inline tables
}

type tomlFrame struct {
	inline bool
	depth  int // path length of the array or table itself
}

func (s *tomlScan) errAt(off int, format string, args ...any) error {
	line, col := newPositions(s.b).at(off) // only for an error: not every document pays
	return &parseError{line: line, col: col, msg: fmt.Sprintf(format, args...)}
}

func (s *tomlScan) run() error {
	b := s.b
	lineStart, expectKey := true, false
	for s.i < len(b) {
		c := b[s.i]
		switch c {
		case '\n':
			s.i++
			if len(s.stack) == 0 {
				lineStart = true
			}
			continue
		case ' ', '\t', '\r':
			s.i++
			continue
		case '#':
			for s.i < len(b) && b[s.i] != '\n' {
				s.i++
			}
			continue
		}
		n := len(s.stack)
		switch {
		case n == 0 && lineStart:
			lineStart = false
			var err error
			if c == '[' {
				err = s.header()
			} else {
				err = s.keyValue(s.base)
			}
			if err != nil {
				return err
			}
			continue
		case n > 0 && s.stack[n-1].inline && expectKey && c != '}':
			expectKey = false
			if err := s.keyValue(s.stack[n-1].depth); err != nil {
				return err
			}
			continue
		}
		expectKey = false
		switch c {
		case '"', '\'':
			s.skipString()
		case '[', '{':
			d := s.valDepth
			if n > 0 && !s.stack[n-1].inline {
				d = s.stack[n-1].depth + 1 // an element of an array
			}
			if d+1 > limits.Depth {
				return s.errAt(s.i, "nesting deeper than the limit of %d levels", limits.Depth)
			}
			s.stack = append(s.stack, tomlFrame{inline: c == '{', depth: d})
			s.i++
			expectKey = c == '{'
		case ']', '}':
			if n > 0 {
				s.stack = s.stack[:n-1]
			}
			s.i++
		case ',':
			s.i++
			expectKey = n > 0 && s.stack[n-1].inline
		default:
			s.i++
		}
	}
	return nil
}

// header scans [a.b.c] or [[a.b.c]] and sets the base depth.
func (s *tomlScan) header() error {
	start := s.i
	s.i++
	if s.i < len(s.b) && s.b[s.i] == '[' {
		s.i++
	}
	n, err := s.key(start)
	if err != nil {
		return err
	}
	if n > limits.Depth {
		return s.errAt(start, "nesting deeper than the limit of %d levels", limits.Depth)
	}
	s.base = n
	return nil
}

// keyValue scans a key and its '='; the value's path length is base plus its segments.
func (s *tomlScan) keyValue(base int) error {
	start := s.i
	n, err := s.key(start)
	if err != nil {
		return err
	}
	if n == 0 {
		s.i++ // not a key: the parser will say so
		return nil
	}
	if base+n > limits.Depth {
		return s.errAt(start, "nesting deeper than the limit of %d levels", limits.Depth)
	}
	s.skipBlanks()
	if s.i < len(s.b) && s.b[s.i] == '=' {
		s.i++
	}
	s.valDepth = base + n
	return nil
}

// key scans a (dotted) key and returns its number of segments.
func (s *tomlScan) key(start int) (int, error) {
	n := 0
	for {
		s.skipBlanks()
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"' || c == '\'':
			s.skipString()
		case isBareKey(c):
			for s.i < len(s.b) && isBareKey(s.b[s.i]) {
				s.i++
			}
		default:
			return n, s.checkSegments(start, n)
		}
		n++
		s.skipBlanks()
		if s.i >= len(s.b) || s.b[s.i] != '.' {
			break
		}
		s.i++
	}
	return n, s.checkSegments(start, n)
}

func (s *tomlScan) checkSegments(start, n int) error {
	if n > limits.KeySegments {
		return s.errAt(start, "key has %d segments, more than the limit of %d", n, limits.KeySegments)
	}
	return nil
}

func (s *tomlScan) skipBlanks() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t') {
		s.i++
	}
}

func isBareKey(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// skipString skips a basic or literal string, one-line or multi-line, at s.i.
func (s *tomlScan) skipString() {
	b, q := s.b, s.b[s.i]
	if s.i+2 < len(b) && b[s.i+1] == q && b[s.i+2] == q {
		s.i += 3
		for s.i < len(b) {
			if q == '"' && b[s.i] == '\\' {
				s.i += 2
				continue
			}
			if b[s.i] == q && s.i+2 < len(b) && b[s.i+1] == q && b[s.i+2] == q {
				s.i += 3
				for s.i < len(b) && b[s.i] == q { // up to two quotes may end the content
					s.i++
				}
				return
			}
			s.i++
		}
		return
	}
	s.i++
	for s.i < len(b) && b[s.i] != '\n' {
		if q == '"' && b[s.i] == '\\' {
			s.i += 2
			continue
		}
		if b[s.i] == q {
			s.i++
			return
		}
		s.i++
	}
}
