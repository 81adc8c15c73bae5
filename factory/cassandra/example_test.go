package cassandra_test

import (
	"fmt"

	"github.com/connfactory/connfactory/factory/cassandra"
	"github.com/connfactory/connfactory/schema"
)

// New compiles a profile (validated, material resolved) without dialling; importing the
// package also makes factory.Compile build Cassandra profiles.
func ExampleNew() {
	c, err := cassandra.New("orders", &schema.Profile{Backend: schema.Cassandra, Hosts: []string{"10.0.0.1:9042"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Println(c)
	// Output: &cassandra.Connector{profile: "orders", tls: disable}
}
