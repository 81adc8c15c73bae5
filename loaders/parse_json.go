package loaders

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// parseJSON reads a JSON object token by token, so that a duplicate key is refused (with
// both positions), nesting is bounded before it is built, and no message repeats a value.
func parseJSON(b []byte) (map[string]any, []nullValue, error) {
	jp := &jsonParser{dec: json.NewDecoder(bytes.NewReader(b)), b: b, pos: newPositions(b)}
	m, err := jp.document()
	if err != nil {
		return nil, nil, err
	}
	return m, jp.tb.nulls, nil
}

type jsonParser struct {
	dec *json.Decoder
	b   []byte
	pos *positions
	tb  treeBuilder
}

// tokenStart is the offset of the next token: InputOffset is the end of the previous one.
func (jp *jsonParser) tokenStart() int {
	off := int(jp.dec.InputOffset())
	for off < len(jp.b) && strings.IndexByte(" \t\r\n,:", jp.b[off]) >= 0 {
		off++
	}
	return off
}

func (jp *jsonParser) errAt(off int, format string, args ...any) error {
	line, col := jp.pos.at(off)
	return &parseError{line: line, col: col, msg: fmt.Sprintf(format, args...)}
}

func (jp *jsonParser) token() (json.Token, int, error) {
	off := jp.tokenStart()
	t, err := jp.dec.Token()
	if err == nil {
		return t, off, nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// The failing token starts at off (the offsets inside the error count from
		// wherever the decoder's buffer began).
		return nil, off, jp.errAt(off, "%s", redactQuoted(se.Error()))
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, off, jp.errAt(len(jp.b), "unexpected end of input")
	}
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		return nil, off, jp.errAt(off, "number out of range") // ute.Value holds the number itself
	}
	return nil, off, jp.errAt(off, "the value cannot be read")
}

func (jp *jsonParser) document() (map[string]any, error) {
	t, off, err := jp.token()
	if err != nil {
		return nil, err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, jp.errAt(off, "the document must be an object, not %s", jsonKind(t))
	}
	m := map[string]any{}
	if err := jp.object(m, nil, 0); err != nil {
		return nil, err
	}
	if _, err := jp.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, jp.errAt(jp.tokenStart(), "unexpected data after the top-level object")
	}
	return m, nil
}

// object reads the members of an object whose '{' has been read into m.
func (jp *jsonParser) object(m map[string]any, path *keyPath, depth int) error {
	first := map[string]int{} // key -> offset of its first occurrence
	for jp.dec.More() {
		t, off, err := jp.token()
		if err != nil {
			return err
		}
		k, ok := t.(string)
		if !ok {
			return jp.errAt(off, "expected a key")
		}
		if prev, seen := first[k]; seen {
			line, col := jp.pos.at(off)
			l0, c0 := jp.pos.at(prev)
			return jp.tb.dup(path.child(k), line, col, l0, c0)
		}
		first[k] = off
		line, col := jp.pos.at(off)
		if n := strings.Count(k, ".") + 1; n > limits.KeySegments || depth+n > limits.Depth {
			// Checked before the value is read: a 9,000-deep value is never built.
			return jp.tb.set(m, path, depth, k, nil, line, col)
		}
		v, err := jp.value(path.child(k), depth+strings.Count(k, ".")+1)
		if err != nil {
			return err
		}
		if err := jp.tb.set(m, path, depth, k, v, line, col); err != nil {
			return err
		}
	}
	_, _, err := jp.token() // '}'
	return err
}

func (jp *jsonParser) value(path *keyPath, depth int) (any, error) {
	t, off, err := jp.token()
	if err != nil {
		return nil, err
	}
	switch d := t.(type) {
	case json.Delim:
		if depth+1 > limits.Depth {
			return nil, jp.errAt(off, "nesting deeper than the limit of %d levels", limits.Depth)
		}
		switch d {
		case '{':
			m := map[string]any{}
			if err := jp.object(m, path, depth); err != nil {
				return nil, err
			}
			return m, nil
		case '[':
			var l []any
			for i := 0; jp.dec.More(); i++ {
				if i >= limits.KeysPerTable {
					return nil, jp.errAt(jp.tokenStart(), "list %s has more than the limit of %d entries", path, limits.KeysPerTable)
				}
				eoff := jp.tokenStart()
				v, err := jp.value(path.elem(i), depth+1)
				if err != nil {
					return nil, err
				}
				if v == nil {
					line, col := jp.pos.at(eoff)
					jp.tb.nulls = append(jp.tb.nulls, nullValue{path: path.elem(i).String(), line: line, col: col})
					continue
				}
				l = append(l, v)
			}
			if _, _, err := jp.token(); err != nil { // ']'
				return nil, err
			}
			if l == nil {
				l = []any{}
			}
			return l, nil
		}
		return nil, jp.errAt(off, "unexpected %s", d)
	}
	return t, nil
}

func jsonKind(t json.Token) string {
	switch t.(type) {
	case json.Delim:
		return "a list"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a value"
}
