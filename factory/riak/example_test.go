package riak_test

import (
	"fmt"

	"github.com/connfactory/connfactory/factory/riak"
	"github.com/connfactory/connfactory/schema"
)

// New compiles a profile (validated, material resolved) without dialling; importing the
// package also makes factory.Compile build Riak profiles.
func ExampleNew() {
	c, err := riak.New("orders", &schema.Profile{Backend: schema.Riak, Hosts: []string{"10.0.0.1:8087"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Println(c)
	// Output: &riak.Connector{profile: "orders", tls: disable, hosts: 10.0.0.1:8087}
}
