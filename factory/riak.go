package factory

import (
	"errors"

	"github.com/connfactory/connfactory/schema"
)

// RiakConnector is a compiled Riak profile. PLACEHOLDER: replaced by the Riak connector work.
type RiakConnector struct{ Connector }

// NewRiakConnector compiles a Riak profile. PLACEHOLDER.
func NewRiakConnector(name string, p *schema.Profile, opts ...Option) (*RiakConnector, error) {
	return nil, errors.New("factory: riak connector not implemented yet")
}
