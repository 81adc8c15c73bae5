package factory

import (
	"errors"
)

// ErrAdjustOwnedField is the cause of a Dial whose adjust function changed a field the
// factory owns; the message names the fields.
var ErrAdjustOwnedField = errors.New("adjust changed a field the factory owns")
