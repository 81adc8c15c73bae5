package riak_test

import (
	"context"
	"crypto/tls"
	"testing"

	riak "github.com/basho/riak-go-client"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/internal/factorytest/riakenv"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/riaktest"
)

// BenchmarkRiakConnect compares, on one TLS + password server, connect + STARTTLS + TLS
// + auth + ping. DialConn is the factory's preflight alone (one connection). Dial is the
// factory's Dial (preflight, then riak-go-client's cluster with its own connection and
// a first ping through it), one ping, Stop. HandBuilt is a riak-go-client node built by
// hand with a plain *tls.Config, Start, one ping, Stop: what a program does without the
// factory (and without its safety). Run:
//
//	go test -run '^$' -bench BenchmarkRiakConnect -benchtime 2s -count 3 ./factory/riak
func BenchmarkRiakConnect(b *testing.B) {
	srv, err := riaktest.Start(riakenv.Secure())
	require.NoError(b, err)
	defer func() { require.NoError(b, srv.Close()) }()
	p := riakenv.Profile([]string{srv.Addr()}, schema.MechanismPassword, "pwuser", riakenv.Password, riakenv.TLS())
	c := riakenv.New(b, p)
	ctx := context.Background()
	ping := func(b *testing.B, cl *riak.Cluster) {
		if err := cl.Execute(&riak.PingCommand{}); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("DialConn", func(b *testing.B) {
		for b.Loop() {
			conn, err := c.DialConn(ctx)
			if err != nil {
				b.Fatal(err)
			}
			_ = conn.Close()
		}
	})
	b.Run("Dial", func(b *testing.B) {
		for b.Loop() {
			cl, err := c.Dial(ctx)
			if err != nil {
				b.Fatal(err)
			}
			ping(b, cl)
			_ = cl.Stop()
		}
	})
	b.Run("HandBuilt", func(b *testing.B) {
		for b.Loop() {
			node, err := riak.NewNode(&riak.NodeOptions{
				RemoteAddress: srv.Addr(),
				AuthOptions: &riak.AuthOptions{User: "pwuser", Password: riakenv.Password,
					TlsConfig: &tls.Config{RootCAs: riakenv.PKI.Root.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}},
			})
			if err != nil {
				b.Fatal(err)
			}
			cl, err := riak.NewCluster(&riak.ClusterOptions{Nodes: []*riak.Node{node}})
			if err != nil {
				b.Fatal(err)
			}
			if err := cl.Start(); err != nil {
				b.Fatal(err)
			}
			ping(b, cl)
			_ = cl.Stop()
		}
	})
}
