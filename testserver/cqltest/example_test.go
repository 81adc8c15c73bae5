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
