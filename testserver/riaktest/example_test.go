package riaktest_test

import (
	"fmt"

	riak "github.com/basho/riak-go-client"

	"github.com/connfactory/connfactory/testserver/pki"
	"github.com/connfactory/connfactory/testserver/riaktest"
)

// A server with security enabled and one password user, used through the real
// riak-go-client. The client's TLS config must name the server: riak-go-client
// never sets ServerName itself.
func Example() {
	certs, err := pki.NewSet()
	if err != nil {
		panic(err)
	}
	srv, err := riaktest.Start(riaktest.Options{
		Security: true,
		TLS:      certs.ServerTLSConfig(),
		Users:    []riaktest.User{{Name: "app", Source: riaktest.SourcePassword, Password: "secret"}},
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	node, err := riak.NewNode(&riak.NodeOptions{
		RemoteAddress: srv.Addr(),
		AuthOptions:   &riak.AuthOptions{User: "app", Password: "secret", TlsConfig: certs.ClientTLSConfig()},
	})
	if err != nil {
		panic(err)
	}
	cluster, err := riak.NewCluster(&riak.ClusterOptions{Nodes: []*riak.Node{node}})
	if err != nil {
		panic(err)
	}
	if err := cluster.Start(); err != nil {
		panic(err)
	}
	defer cluster.Stop()

	store, _ := riak.NewStoreValueCommandBuilder().WithBucket("b").WithKey("k").
		WithContent(&riak.Object{ContentType: "text/plain", Value: []byte("hello")}).Build()
	if err := cluster.Execute(store); err != nil {
		panic(err)
	}
	v, _ := srv.Value("", "b", "k")
	fmt.Println(string(v))
	// Output: hello
}
