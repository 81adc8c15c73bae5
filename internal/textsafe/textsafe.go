// Package textsafe makes text from servers, certificates and configuration safe to
// print on a terminal or in a log line.
//
// A hostile server chooses its error messages, version strings and certificate
// subjects; a configuration file chooses its profile names and paths. Printed raw, an
// ESC sequence clears the operator's screen and a newline forges a line such as
// "riak_prod (riak): OK". Escape replaces every control character (C0, DEL, C1), the
// Unicode line and paragraph separators, the bidirectional overrides and isolates,
// and every byte that is not UTF-8 by a visible escape (\n, \x1b, \u0085, \u202e,
// \xff); everything else, including other non-ASCII text, is kept as it is. Machine
// output (JSON) carries the exact strings instead and needs no escaping.
package textsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape returns s with the characters described in the package comment escaped. A
// string without any is returned unchanged, without allocating.
func Escape(s string) string {
	i := firstUnsafe(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Lines is Escape for text made of lines: each line is escaped, the newlines between
// them are kept. For messages of our own that span lines and quote others' text.
func Lines(s string) string {
	if firstUnsafe(s) < 0 {
		return s
	}
	parts := strings.Split(s, "\n")
	for i, p := range parts {
		parts[i] = Escape(p)
	}
	return strings.Join(parts, "\n")
}

// firstUnsafe is the index of the first byte of s that Escape changes, or -1.
func firstUnsafe(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unsafeRune(r) {
			return i
		}
		i += size
	}
	return -1
}

// unsafeRune: C1 controls, line and paragraph separators, bidi embeddings, overrides
// and isolates (which reorder what a terminal shows).
func unsafeRune(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || r == 0x2028 || r == 0x2029 ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f
}
