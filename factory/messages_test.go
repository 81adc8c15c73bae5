package factory_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
)

// TestErrorReadsHostThenCause: the kind is not part of the message (reports print it once,
// apart); the host leads, once.
func TestErrorReadsHostThenCause(t *testing.T) {
	err := &factory.Error{Kind: factory.KindTLSHostname, Host: "db1:9042", Err: errors.New("x509: wrong name")}
	require.EqualError(t, err, "db1:9042: x509: wrong name")
	require.ErrorIs(t, err, factory.ErrTLSHostname)
	require.EqualError(t, &factory.Error{Kind: factory.KindTimeout, Err: errors.New("slow")}, "slow")
	require.EqualError(t, &factory.Error{Kind: factory.KindTimeout, Host: "h:1", Err: errors.New("h:1: slow")}, "h:1: slow")
	require.EqualError(t, &factory.Error{Kind: factory.KindProtocol}, "factory: protocol")
}
