package cqltest_test

import (
	"crypto/tls"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/testserver/cqltest"
)

// BenchmarkCreateSession measures a whole gocql CreateSession + Close against the server:
// protocol negotiation, control connection, system tables, schema metadata, pool.
func BenchmarkCreateSession(b *testing.B) {
	set, err := newPKISet()
	require.NoError(b, err)
	mtls := set.ServerTLSConfig()
	mtls.ClientAuth = tls.RequireAndVerifyClientCert
	noCert := set.ClientTLSConfig()
	noCert.Certificates = nil
	cases := []struct {
		name string
		opts cqltest.Options
		tls  *tls.Config
		auth bool
		// proto 0 negotiates, which costs gocql one extra connection.
		proto int
	}{
		{"plaintext", cqltest.Options{}, nil, false, 4},
		{"plaintext-negotiated", cqltest.Options{}, nil, false, 0},
		{"password", cqltest.Options{Credentials: map[string]string{"app": "pw"}}, nil, true, 4},
		{"tls+password", cqltest.Options{TLS: set.ServerTLSConfig(), Credentials: map[string]string{"app": "pw"}}, noCert, true, 4},
		{"mutual-tls", cqltest.Options{TLS: mtls}, set.ClientTLSConfig(), false, 4},
		{"mutual-tls-v5", cqltest.Options{TLS: mtls}, set.ClientTLSConfig(), false, 5},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			srv, err := cqltest.Start(tc.opts)
			require.NoError(b, err)
			defer srv.Close()
			for b.Loop() {
				c := gocql.NewCluster(srv.Addr())
				c.NumConns = 1
				c.ProtoVersion = tc.proto
				c.ReconnectionPolicy = &gocql.ConstantReconnectionPolicy{MaxRetries: 1, Interval: 10 * time.Millisecond}
				c.Logger = &recLogger{}
				if tc.tls != nil {
					c.SslOpts = &gocql.SslOptions{Config: tc.tls}
				}
				if tc.auth {
					c.Authenticator = gocql.PasswordAuthenticator{Username: "app", Password: "pw"}
				}
				s, err := c.CreateSession()
				require.NoError(b, err)
				s.Close()
			}
		})
	}
}
