package factory

import (
	"errors"

	"github.com/connfactory/connfactory/schema"
)

// CassandraConnector is a compiled Cassandra profile. PLACEHOLDER: replaced by the
// Cassandra connector work.
type CassandraConnector struct{ Connector }

// NewCassandraConnector compiles a Cassandra profile. PLACEHOLDER.
func NewCassandraConnector(name string, p *schema.Profile, opts ...Option) (*CassandraConnector, error) {
	return nil, errors.New("factory: cassandra connector not implemented yet")
}
