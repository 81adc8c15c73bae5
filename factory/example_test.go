package factory_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/advice"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/pki"
	"github.com/connfactory/connfactory/testserver/riaktest"
)

// A profile built in Go, with its material already in hand (no files, no environment),
// compiled and checked against a Riak server.
func ExampleCompile() {
	set, err := pki.NewSet()
	if err != nil {
		panic(err)
	}
	srv, err := riaktest.Start(riaktest.Options{Security: true, TLS: set.ServerTLSConfig(),
		Users: []riaktest.User{{Name: "riakuser", Source: riaktest.SourcePassword, Password: "rosebud"}}})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	profile := &schema.Profile{
		Backend: schema.Riak,
		Hosts:   []string{srv.Addr()},
		Auth: &schema.Auth{Mechanism: schema.MechanismPassword, Username: "riakuser",
			Password: &schema.SecretSource{Value: "rosebud"}},
		TLS: &schema.TLS{
			CA:         []schema.MaterialSource{{PEM: schema.Secret(set.Root.CertPEM())}},
			ServerName: "localhost",
		},
	}
	c, err := factory.Compile("riak_prod", profile)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	report, err := c.Check(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println(report.OK, report.TLS.Version, report.Auth.Mechanism, report.Auth.Result)
	// Output: true TLS 1.2 password ok
}

// Failures are classified: errors.Is against the kind's sentinel, or KindOf for the name.
func ExampleKindOf() {
	set, err := pki.NewSet()
	if err != nil {
		panic(err)
	}
	srv, err := riaktest.Start(riaktest.Options{Security: true, TLS: set.ServerTLSConfig(),
		Users: []riaktest.User{{Name: "riakuser", Source: riaktest.SourceTrust}}})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	c, err := factory.Compile("riak_prod", &schema.Profile{
		Backend: schema.Riak,
		Hosts:   []string{srv.Addr()},
		Auth:    &schema.Auth{Mechanism: schema.MechanismTrust, Username: "riakuser"},
		// Trusts another CA than the one that signed the server's certificate.
		TLS: &schema.TLS{CA: []schema.MaterialSource{{PEM: schema.Secret(set.OtherRoot.CertPEM())}}},
	})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	_, err = c.Check(context.Background())
	fmt.Println(errors.Is(err, factory.ErrTLSUntrusted), factory.KindOf(err))
	fmt.Println(advice.For(err))
	// Output:
	// true tls_untrusted
	// the server's certificate is not signed by a CA in tls.ca: add the CA that issued it (and any intermediate the server does not send)
}
