package riak_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/advice"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/internal/factorytest/riakenv"
	"github.com/connfactory/connfactory/schema"
)

// TestRiakTLS13RefusedClientCertificate: under TLS 1.3 a server that refuses the client
// certificate says so with an alert the client reads only after its handshake, at the
// RpbAuthReq step. That is a TLS failure (tls_handshake), not refused credentials.
func TestRiakTLS13RefusedClientCertificate(t *testing.T) {
	factorytest.LeakCheck(t)
	opts := riakenv.Secure()
	opts.TLS.MinVersion, opts.TLS.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
	opts.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	other := x509.NewCertPool()
	other.AddCert(riakenv.PKI.OtherRoot.Cert)
	opts.TLS.ClientCAs = other // the client's certificate chains to a root it does not trust
	srv := riakenv.Start(t, opts)

	for _, tc := range []struct {
		name string
		tls  *schema.TLS
	}{
		{"untrusted client certificate", riakenv.CertTLS(riakenv.PKI.Client)},
		{"no client certificate", riakenv.TLS()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := riakenv.New(t, riakenv.Profile([]string{srv.Addr()}, schema.MechanismPassword, "pwuser", riakenv.Password, tc.tls))
			rep, err := c.Check(context.Background())
			require.ErrorIs(t, err, factory.ErrTLSHandshake)
			require.NotErrorIs(t, err, factory.ErrAuthFailed)
			require.ErrorContains(t, err, "remote error: tls:")
			require.Equal(t, string(factory.KindTLSHandshake), rep.Error.Kind)
			require.NotContains(t, advice.For(err), "auth.password")
			_, err = c.DialConn(context.Background())
			require.ErrorIs(t, err, factory.ErrTLSHandshake)
		})
	}
}

// TestRiakGarbageAtAuthIsProtocol: a peer that completes TLS and then answers
// RpbAuthReq with bytes that are not Riak PB is a protocol error, not refused
// credentials.
func TestRiakGarbageAtAuthIsProtocol(t *testing.T) {
	factorytest.LeakCheck(t)
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"http", []byte("HTTP/1.1 400 Bad Request\r\n\r\n")},
		{"unknown code", []byte{0, 0, 0, 1, 42}},
		{"undecodable error", []byte{0, 0, 0, 3, 0, 0xff, 0xff}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := riakenv.Secure()
			opts.AuthReplyRaw = tc.raw
			srv := riakenv.Start(t, opts)
			c := riakenv.New(t, riakenv.Profile([]string{srv.Addr()}, schema.MechanismPassword, "pwuser", riakenv.Password, riakenv.TLS()))
			rep, err := c.Check(context.Background())
			require.ErrorIs(t, err, factory.ErrProtocol, "%v", err)
			require.Equal(t, string(factory.KindProtocol), rep.Error.Kind)
			require.ErrorContains(t, err, "RpbAuthReq")
		})
	}
}
