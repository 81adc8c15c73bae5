// Package advice is the CLI's advice text: one line telling an operator what to do about
// a factory error, by its kind. It lives outside package factory so that the library
// carries no CLI wording (issue 15).
package advice

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/connfactory/connfactory/factory"
)

// For returns one line telling an operator what to do about err, by its kind ("" when
// err has no kind with advice).
func For(err error) string {
	switch factory.KindOf(err) {
	case factory.KindConfig:
		return "fix the configuration at the paths named above; `connfactory validate` lists every problem"
	case factory.KindUnreachable:
		return "nothing accepts connections at that address: check hosts (host:port), that the server runs and that no firewall is in the way"
	case factory.KindTimeout:
		return "the server did not answer within connect_timeout: check the port is the database's (not a proxy or another service), or raise connect_timeout / --timeout"
	case factory.KindTLSUntrusted:
		return "the server's certificate is not signed by a CA in tls.ca: add the CA that issued it (and any intermediate the server does not send)"
	case factory.KindTLSHostname:
		var he x509.HostnameError
		if errors.As(err, &he) && he.Certificate != nil {
			names := append([]string(nil), he.Certificate.DNSNames...)
			for _, ip := range he.Certificate.IPAddresses {
				names = append(names, ip.String())
			}
			if ip := net.ParseIP(he.Host); ip != nil && len(he.Certificate.IPAddresses) == 0 && len(names) > 0 {
				// Most often a node found through system.peers: drivers dial those by IP.
				return fmt.Sprintf("the certificate of %s is for %s (DNS names only) and the node was dialled by IP address, "+
					"as every node found through system.peers is: give the node certificates IP SANs (%s), "+
					"or give them one shared DNS name and set tls.server_name to it",
					he.Host, strings.Join(names, ", "), he.Host)
			}
			if len(names) > 0 {
				return fmt.Sprintf("the server's certificate is for %s; set tls.server_name or connect by that name",
					strings.Join(names, ", "))
			}
		}
		return "the server's certificate is not for the name dialled; set tls.server_name or connect by a name the certificate lists"
	case factory.KindTLSExpired:
		return "a certificate in the chain is expired or not yet valid: renew it on the server (or check this machine's clock)"
	case factory.KindTLSRevoked:
		return "a certificate in the server's chain is on the CRL: the server needs a new certificate"
	case factory.KindTLSHandshake:
		return "the TLS handshake failed: compare tls.min_version/max_version/ciphers with the server's, and whether the server requires a client certificate (tls.cert/tls.key)"
	case factory.KindAuthFailed:
		return "the server refused the credentials: check auth.username and where auth.password comes from (`connfactory show` names the source)"
	case factory.KindAuthRequired:
		return "the server requires authentication: set auth.mechanism (password for Cassandra), auth.username and auth.password"
	case factory.KindProtocol:
		if errors.Is(err, factory.ErrServerSpeaksTLS) {
			return "the server expects TLS: add a [tls] section to the profile (tls.ca = the CA that issued the server's certificate)"
		}
		return "the server answered, but not as expected: check the backend, the port and (Riak) that security is enabled on the server"
	}
	return ""
}
