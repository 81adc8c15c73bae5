package connfactorytest_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/connfactory/connfactory/connfactorytest"
)

// A test of code that takes a *connfactory.Registry gets one whose profiles reach real
// Cassandra and Riak test servers over TLS.
func ExampleNewRegistry() {
	dir, err := os.MkdirTemp("", "sandbox-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	reg, sb, err := connfactorytest.NewRegistry(connfactorytest.Options{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close() // closes reg too

	c, err := reg.Connector("sandbox_cassandra_mtls")
	if err != nil {
		log.Fatal(err)
	}
	rep, err := c.Check(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.OK, rep.Auth.Result, rep.TLS.Enabled)
	// Output: true ok true
}
