package connfactory_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/connfactorytest"
	"github.com/connfactory/connfactory/testserver/cqltest"
)

// The twelve-factor case: the whole profile comes from the environment (here given
// explicitly; by default Load reads os.Environ).
func ExampleLoad_environment() {
	srv, err := cqltest.Start(cqltest.Options{Credentials: map[string]string{"orders": "s3cret"}})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	reg, err := connfactory.Load(connfactory.WithEnviron([]string{
		"CONNFACTORY_PROFILES__ORDERS__BACKEND=cassandra",
		"CONNFACTORY_PROFILES__ORDERS__HOSTS=" + srv.Addr(),
		"CONNFACTORY_PROFILES__ORDERS__AUTH__MECHANISM=password",
		"CONNFACTORY_PROFILES__ORDERS__AUTH__USERNAME=orders",
		"CONNFACTORY_PROFILES__ORDERS__AUTH__PASSWORD__ENV=ORDERS_DB_PASSWORD",
		"ORDERS_DB_PASSWORD=s3cret",
	}))
	if err != nil {
		fmt.Println(err) // every problem, one per line, with its path and source
		return
	}
	defer reg.Close()

	cass, err := reg.Cassandra("orders")
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	session, err := cass.Dial(ctx)
	if err != nil {
		panic(err)
	}
	defer session.Close()
	var version string
	if err := session.Query("SELECT release_version FROM system.local").Scan(&version); err != nil {
		panic(err)
	}
	fmt.Println("profiles:", reg.Profiles(), "server:", version)
	// Output: profiles: [orders] server: 4.1.0
}

// The file case: profiles from files, layered in order (here the repository's
// examples/configs).
func ExampleLoad_files() {
	reg, err := connfactory.Load(connfactory.WithFS(os.DirFS("examples/configs"), "cassandra.toml", "riak.toml"),
		connfactory.WithEnvPrefix("-"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Close()
	p, _ := reg.Profile("cass_password")
	fmt.Println(p.Backend, p.Hosts, p.Auth.Mechanism, p.Auth.Password.Describe(), p.TLS.EffectiveMode())
	// Output: cassandra [localhost:9042] password file secrets/app.password verify-full
}

// A configuration problem names the path and where the value came from.
func ExampleLoad_problems() {
	_, err := connfactory.Load(connfactory.WithEnviron([]string{
		"CONNFACTORY_PROFILES__ORDERS__BACKEND=cassandra",
		"CONNFACTORY_PROFILES__ORDERS__HOSTS=db1:9042",
		"CONNFACTORY_PROFILES__ORDERS__PROTOCOL_VERSION=2",
	}))
	fmt.Println(err)
	// Output: profiles.orders.protocol_version: protocol version 2 is not supported: the Go driver starts at 3 (Cassandra 2.1) (from env CONNFACTORY_PROFILES__ORDERS__PROTOCOL_VERSION)
}

// A connector per profile, compiled on first use and shared: Check is what `connfactory
// check` runs (here against connfactorytest's servers, as a test of your own would).
func ExampleRegistry_Connector() {
	dir, err := os.MkdirTemp("", "example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	reg, sb, err := connfactorytest.NewRegistry(connfactorytest.Options{Dir: dir})
	if err != nil {
		panic(err)
	}
	defer sb.Close() // and reg

	c, err := reg.Connector("sandbox_riak_certificate")
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := c.Check(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.Backend, rep.OK, rep.Auth.Result)
	// Output: riak true ok
}

// Validate is `connfactory validate`: Load plus a compile of every profile, without
// connecting, so that what only the factory judges (here a CA that is not a CA) is found
// before the first dial. Load compiles on first use instead.
func ExampleValidate() {
	env := connfactory.WithEnviron([]string{
		"CONNFACTORY_PROFILES__ORDERS__BACKEND=cassandra",
		"CONNFACTORY_PROFILES__ORDERS__HOSTS=db1:9042",
		"CONNFACTORY_PROFILES__ORDERS__TLS__CA__FILE=examples/configs/certs/server.pem",
	})
	reg, err := connfactory.Load(env)
	if err != nil {
		panic(err)
	}
	reg.Close()
	fmt.Println("Load: ok")

	_, warnings, err := connfactory.Validate(env)
	for _, w := range warnings {
		fmt.Println("warning:", w)
	}
	fmt.Println("Validate:", err)
	// Output:
	// Load: ok
	// Validate: profiles.orders.tls.ca[0]: file examples/configs/certs/server.pem (from env CONNFACTORY_PROFILES__ORDERS__TLS__CA__FILE): certificate "CN=localhost" is not a CA (basic constraints CA:FALSE): configure the CA that issued it
}
