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
// transpositions, the commonest typo ("mni_version").
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
