package loaders

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// parseYAML parses YAML to its node tree (linear, and bounded by the library at 10,000
// levels), then builds the configuration tree itself: nesting, key counts, duplicate keys,
// tags and aliases are judged here, at the node's line and column, and no message repeats
// a value.
func parseYAML(b []byte) (map[string]any, []nullValue, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, nil, yamlSyntaxError(b, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return map[string]any{}, nil, nil // empty, or only comments
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return map[string]any{}, nil, nil // a document holding only "~" or "null"
	}
	yp := &yamlParser{}
	if root.Kind != yaml.MappingNode {
		return nil, nil, &parseError{line: root.Line, col: root.Column, msg: "the document must be a mapping of keys to values"}
	}
	m := map[string]any{}
	if err := yp.mapping(root, m, nil, 0); err != nil {
		return nil, nil, err
	}
	return m, yp.tb.nulls, nil
}

type yamlParser struct {
	tb    treeBuilder
	nodes int // values built, aliases expanded
}

func (yp *yamlParser) count(n *yaml.Node) error {
	yp.nodes++
	if yp.nodes > limits.AliasNodes {
		return &parseError{line: n.Line, col: n.Column, msg: fmt.Sprintf("aliases expand to more than the limit of %d values", limits.AliasNodes)}
	}
	return nil
}

func (yp *yamlParser) mapping(n *yaml.Node, m map[string]any, path *keyPath, depth int) error {
	var merges []*yaml.Node
	first := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.Kind == yaml.AliasNode && kn.Alias != nil {
			kn = kn.Alias
		}
		if kn.Kind != yaml.ScalarNode {
			return &parseError{line: kn.Line, col: kn.Column, msg: "a key must be a plain value, not a list or mapping"}
		}
		if kn.ShortTag() == "!!merge" {
			merges = append(merges, vn)
			continue
		}
		k := kn.Value
		if prev := first[k]; prev != nil {
			return yp.tb.dup(path.child(k), kn.Line, kn.Column, prev.Line, prev.Column)
		}
		first[k] = kn
		if segs := strings.Count(k, ".") + 1; segs > limits.KeySegments || depth+segs > limits.Depth {
			return yp.tb.set(m, path, depth, k, nil, kn.Line, kn.Column)
		}
		v, err := yp.value(vn, path.child(k), depth+strings.Count(k, ".")+1)
		if err != nil {
			return err
		}
		line, col := kn.Line, kn.Column
		if v == nil {
			line, col = vn.Line, vn.Column
			if vn.Kind == yaml.ScalarNode && vn.Value == "" && vn.Style == 0 {
				line, col = kn.Line, kn.Column // `key:` with nothing after it
			}
		}
		if err := yp.tb.set(m, path, depth, k, v, line, col); err != nil {
			return err
		}
	}
	// Merge keys (<<: *base): explicit keys win, whatever their order.
	for _, mn := range merges {
		srcs := []*yaml.Node{mn}
		if mn.Kind == yaml.SequenceNode {
			srcs = mn.Content
		}
		for _, s := range srcs {
			v, err := yp.value(s, path, depth)
			if err != nil {
				return err
			}
			sm, ok := v.(map[string]any)
			if !ok {
				return &parseError{line: s.Line, col: s.Column, msg: "a merge key (<<) takes a mapping or a list of mappings"}
			}
			for _, k := range sortedKeys(sm) {
				if _, ok := m[k]; !ok {
					if err := yp.tb.addKey(m, k, sm[k], path.child(k), s.Line, s.Column); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func (yp *yamlParser) value(n *yaml.Node, path *keyPath, depth int) (any, error) {
	if err := yp.count(n); err != nil {
		return nil, err
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, &parseError{line: n.Line, col: n.Column, msg: "unknown alias"}
		}
		return yp.value(n.Alias, path, depth)
	case yaml.MappingNode:
		if depth+1 > limits.Depth {
			return nil, &parseError{line: n.Line, col: n.Column, msg: fmt.Sprintf("nesting deeper than the limit of %d levels", limits.Depth)}
		}
		m := map[string]any{}
		if err := yp.mapping(n, m, path, depth); err != nil {
			return nil, err
		}
		return m, nil
	case yaml.SequenceNode:
		if depth+1 > limits.Depth {
			return nil, &parseError{line: n.Line, col: n.Column, msg: fmt.Sprintf("nesting deeper than the limit of %d levels", limits.Depth)}
		}
		if len(n.Content) > limits.KeysPerTable {
			return nil, &parseError{line: n.Line, col: n.Column, msg: fmt.Sprintf("list %s has more than the limit of %d entries", path, limits.KeysPerTable)}
		}
		l := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			v, err := yp.value(c, path.elem(i), depth+1)
			if err != nil {
				return nil, err
			}
			if v == nil {
				yp.tb.nulls = append(yp.tb.nulls, nullValue{path: path.elem(i).String(), line: c.Line, col: c.Column})
				continue
			}
			l = append(l, v)
		}
		return l, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return n.Value, nil
		case "!!null":
			return nil, nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			// The library's message quotes the value: say only what did not fit.
			return nil, &parseError{line: n.Line, col: n.Column, msg: fmt.Sprintf("the value does not fit its tag %s", n.ShortTag())}
		}
		return v, nil
	}
	return nil, &parseError{line: n.Line, col: n.Column, msg: "unexpected YAML node"}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlSyntaxError words a parse error as position + reason. The library reports the
// line where the enclosing block began ("line 2: did not find expected key" for an
// under-indented key on line 7); the offending token is found by parsing ever longer
// prefixes of the document (a binary search on lines): the first prefix that fails the
// same way ends on the offending line.
func yamlSyntaxError(b []byte, err error) error {
	msg := err.Error()
	line, reason := 0, strings.TrimPrefix(msg, "yaml: ")
	if sm := yamlLineRE.FindStringSubmatch(msg); sm != nil {
		line, _ = strconv.Atoi(sm[1])
		reason = sm[2]
	} else if strings.HasPrefix(reason, "exceeded max depth") {
		// The library's own bound (10,000 levels), without a position: ours is lower.
		e := &parseError{msg: fmt.Sprintf("nesting deeper than the limit of %d levels", limits.Depth)}
		if off := flowDepthOffset(b, limits.Depth+1); off >= 0 {
			e.line, e.col = newPositions(b).at(off)
		}
		return e
	}
	// Errors on the first line, and some others (an unknown alias), come without a line.
	reason = redactQuoted(strings.ReplaceAll(reason, "\n", "; "))
	lines := bytes.SplitAfter(b, []byte("\n"))
	fails := func(k int) bool {
		var n yaml.Node
		e := yaml.Unmarshal(bytes.Join(lines[:k], nil), &n)
		return e != nil && e.Error() == msg
	}
	lo, hi := max(line, 1), len(lines) // fails(hi) holds
	if lo <= hi && fails(hi) {
		for lo < hi {
			mid := (lo + hi) / 2
			if fails(mid) {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		line = hi
	}
	col := 0
	if line >= 1 && line <= len(lines) {
		l := lines[line-1]
		col = len(l) - len(bytes.TrimLeft(l, " \t")) + 1
	}
	return &parseError{line: line, col: col, msg: reason}
}

// flowDepthOffset is the offset of the flow bracket ([ or {) that opens level depth, or -1;
// quoted scalars are skipped roughly (enough to locate, not to parse).
func flowDepthOffset(b []byte, depth int) int {
	d := 0
	var quote byte
	for i, c := range b {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '{':
			if d++; d == depth {
				return i
			}
		case c == ']' || c == '}':
			d--
		}
	}
	return -1
}
