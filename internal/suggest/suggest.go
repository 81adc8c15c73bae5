// Package suggest finds the accepted name a mistyped one was probably meant to be, for
// "did you mean" in messages: the loaders' unknown keys, validate's enum values.
package suggest

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Closest returns the name of known closest to s: one equal to s but for case first,
// else the nearest within edit distance 2 (ties broken alphabetically), else "".
func Closest(s string, known []string) string {
	for _, k := range known {
		if strings.EqualFold(s, k) {
			return k
		}
	}
	best, bestD := "", 3
	ls := strings.ToLower(s)
	n := utf8.RuneCountInString(ls)
	for _, k := range known {
		if m := utf8.RuneCountInString(k); n-m > 2 || m-n > 2 {
			continue // the distance is at least the difference in length
		}
		if d := Distance(ls, strings.ToLower(k)); d < bestD || d == bestD && k < best {
			best, bestD = k, d
		}
	}
	if bestD > 2 {
		return ""
	}
	return best
}

// DidYouMean returns `; did you mean "x"?` for Closest(s, known), or "" when none is close.
func DidYouMean(s string, known []string) string {
	best := Closest(s, known)
	if best == "" || best == s {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// Distance is the optimal string alignment distance: Levenshtein plus adjacent
// transpositions, the commonest typo ("mni_version"). It keeps three rows of the
// matrix, on the stack for names of up to 64 runes: a table of 40,000 unknown keys asks
// for hundreds of thousands of distances.
func Distance(a, b string) int {
	var abuf, bbuf [64]rune
	ra, rb := appendRunes(abuf[:0], a), appendRunes(bbuf[:0], b)
	var buf [3 * 65]int
	rows := buf[:0]
	if 3*(len(rb)+1) > len(buf) {
		rows = make([]int, 0, 3*(len(rb)+1))
	}
	rows = rows[:3*(len(rb)+1)]
	w := len(rb) + 1
	prev2, prev, cur := rows[:w], rows[w:2*w], rows[2*w:]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// appendRunes appends the runes of s to dst.
func appendRunes(dst []rune, s string) []rune {
	for _, r := range s {
		dst = append(dst, r)
	}
	return dst
}
