// Package sealed holds values that fmt must not print.
//
// fmt prints unexported struct fields by reflection, without calling their String or
// Format methods, so a secret kept in an unexported field of a public type is printed in
// clear by %v of a value of that type; a pointer field does not help, since %s, %q, %d
// and %x print its target in full ("%!s(*T=&{...})"). A Box keeps its value behind an
// atomic.Pointer, which fmt prints as an address with every verb.
package sealed

import "sync/atomic"

// Box holds a *T out of fmt's reach. The zero Box holds nil. A Box must not be copied
// after first use (it holds an atomic.Pointer).
type Box[T any] struct{ p atomic.Pointer[T] }

// Of returns a Box holding v.
func Of[T any](v *T) *Box[T] {
	b := new(Box[T])
	b.p.Store(v)
	return b
}

// Set stores v.
func (b *Box[T]) Set(v *T) { b.p.Store(v) }

// Get returns the value held (nil when none).
func (b *Box[T]) Get() *T { return b.p.Load() }
