package cqltest_test

import (
	"fmt"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/connfactory/connfactory/testserver/cqltest"
)

// A server with password authentication, queried with gocql.
func ExampleStart() {
	srv, err := cqltest.Start(cqltest.Options{Credentials: map[string]string{"app": "secret"}})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	cluster := gocql.NewCluster(srv.Addr())
	cluster.Authenticator = gocql.PasswordAuthenticator{Username: "app", Password: "secret"}
	// A short reconnection policy lets gocql's goroutines end right after session.Close.
	cluster.ReconnectionPolicy = &gocql.ConstantReconnectionPolicy{MaxRetries: 1, Interval: 10 * time.Millisecond}
	cluster.Logger = &recLogger{}
	session, err := cluster.CreateSession()
	if err != nil {
		panic(err)
	}
	defer session.Close()

	var version string
	if err := session.Query("SELECT release_version FROM system.local").Scan(&version); err != nil {
		panic(err)
	}
	fmt.Println(version, srv.LastAuthUser())
	// Output: 4.1.0 app
}

// A three-node cluster in two datacenters: gocql, given one node, discovers the others and
// a DC-aware policy sends every query to dc2, as the nodes count.
func ExampleStartCluster() {
	cl, err := cqltest.StartCluster(cqltest.ClusterOptions{Datacenters: []string{"dc1", "dc1", "dc2"}})
	if err != nil {
		panic(err) // a test would skip on errors.Is(err, cqltest.ErrLoopbackUnavailable)
	}
	defer cl.Close()

	cluster := gocql.NewCluster(cl.Nodes[0].Addr())
	cluster.Port = cl.Port() // gocql dials discovered nodes on this port
	cluster.PoolConfig.HostSelectionPolicy = gocql.DCAwareRoundRobinPolicy("dc2")
	cluster.ReconnectionPolicy = &gocql.ConstantReconnectionPolicy{MaxRetries: 1, Interval: 10 * time.Millisecond}
	cluster.Logger = &recLogger{}
	session, err := cluster.CreateSession()
	if err != nil {
		panic(err)
	}
	defer session.Close()

	const query = "SELECT data_center FROM system.local"
	for i := 0; i < 5; i++ {
		if err := session.Query(query).Exec(); err != nil {
			panic(err)
		}
	}
	for _, n := range cl.Nodes {
		fmt.Println(n.Host(), n.Datacenter(), n.Served(query))
	}
	// Prints (not run as a test: outside Linux 127.0.0.2 and up need aliases, and
	// TestClusterDiscovery skips there instead):
	// 127.0.0.2 dc1 0
	// 127.0.0.3 dc1 0
	// 127.0.0.4 dc2 5
}
