package factory_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory/cassandra"
	"github.com/connfactory/connfactory/factory/riak"
)

// TestNilConnectorString: a nil connector describes itself as "<nil>", called directly or
// through fmt, instead of panicking in the methods its embedded common part promotes.
func TestNilConnectorString(t *testing.T) {
	var c *cassandra.Connector
	var r *riak.Connector
	require.Equal(t, "<nil>", c.String())
	require.Equal(t, "<nil>", r.String())
	require.Equal(t, "<nil>", fmt.Sprint(c))
	require.Equal(t, "<nil>", fmt.Sprintf("%v", r))
}
