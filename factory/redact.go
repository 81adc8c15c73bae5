package factory

import (
	"fmt"
	"strings"
)

// fmt prints unexported fields raw, without calling their methods, so a schema.Secret
// held in an unexported field (the connectors' and the authenticator's passwords) would
// print in clear with fmt's %v. These types therefore format themselves, with every verb,
// as a short description that holds no secret.

// Format prints the connector's profile name, backend and TLS mode.
func (c *CassandraConnector) Format(f fmt.State, _ rune) { formatConnector(f, "CassandraConnector", c) }

// Format prints the connector's profile name, backend, TLS mode and hosts.
func (c *RiakConnector) Format(f fmt.State, _ rune) {
	formatConnector(f, "RiakConnector", c, "hosts: "+strings.Join(c.Hosts(), ","))
}

func formatConnector(f fmt.State, typ string, c interface {
	Name() string
	TLS() *ClientTLS
}, extra ...string) {
	tlsMode := "disable"
	if t := c.TLS(); t != nil {
		tlsMode = string(t.Mode())
	}
	parts := append([]string{fmt.Sprintf("profile: %q", c.Name()), "tls: " + tlsMode}, extra...)
	fmt.Fprintf(f, "&factory.%s{%s}", typ, strings.Join(parts, ", "))
}

// Format prints the authenticator's host and username.
func (a *cqlAuthenticator) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "&factory.cqlAuthenticator{host: %q, user: %q}", a.host, a.user)
}
