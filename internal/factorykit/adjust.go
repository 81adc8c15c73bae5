package factorykit

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/connfactory/connfactory/factory"
)

// OwnedField is one field an adjust function must leave alone; same reports whether it did.
type OwnedField struct {
	Name string
	Same bool
}

// ApplyAdjust runs the adjust functions on v and fails with a config-kind *Error naming
// every owned field they changed (typeName.field), comparing snapshots taken before and
// after. owns says what those fields stand for, in the message.
func ApplyAdjust[T, S any](v *T, adjust []func(*T), snap func() S, compare func(before, after S) []OwnedField, typeName, owns string) error {
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
		if !f.Same {
			changed = append(changed, typeName+"."+f.Name)
		}
	}
	if len(changed) > 0 {
		return &factory.Error{Kind: factory.KindConfig, Err: fmt.Errorf("%w: %s (it owns %s: set them in the profile instead)",
			factory.ErrAdjustOwnedField, strings.Join(changed, ", "), owns)}
	}
	return nil
}

// FuncPointer identifies a func value for comparison (0 for nil).
func FuncPointer(f any) uintptr {
	v := reflect.ValueOf(f)
	if !v.IsValid() || v.IsNil() {
		return 0
	}
	return v.Pointer()
}
