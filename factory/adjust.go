package factory

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// ErrAdjustOwnedField is the cause of a Dial whose adjust function changed a field the
// factory owns; the message names the fields.
var ErrAdjustOwnedField = errors.New("adjust changed a field the factory owns")

// ownedField is one field an adjust function must leave alone; same reports whether it did.
type ownedField struct {
	name string
	same bool
}

// applyAdjust runs the adjust functions on v and fails with a config-kind *Error naming
// every owned field they changed (typeName.field), comparing snapshots taken before and
// after. owns says what those fields stand for, in the message.
func applyAdjust[T, S any](v *T, adjust []func(*T), snap func() S, compare func(before, after S) []ownedField, typeName, owns string) error {
	if len(adjust) == 0 {
		return nil
	}
	before := snap()
	for _, f := range adjust {
		if f != nil {
			f(v)
		}
	}
	var changed []string
	for _, f := range compare(before, snap()) {
		if !f.same {
			changed = append(changed, typeName+"."+f.name)
		}
	}
	if len(changed) > 0 {
		return &Error{Kind: KindConfig, Err: fmt.Errorf("%w: %s (it owns %s: set them in the profile instead)",
			ErrAdjustOwnedField, strings.Join(changed, ", "), owns)}
	}
	return nil
}

// funcPointer identifies a func value for comparison (0 for nil).
func funcPointer(f any) uintptr {
	v := reflect.ValueOf(f)
	if !v.IsValid() || v.IsNil() {
		return 0
	}
	return v.Pointer()
}
