// Package bigconfig writes large generated configurations for the load benchmarks and the
// CLI's cancellation tests: N profiles, alternately Cassandra and Riak, password auth with
// the password from the environment, verify-full TLS naming one CA bundle and one CRL file.
package bigconfig

import (
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/connfactory/connfactory/testserver/pki"
)

// PasswordEnv is the variable every generated profile reads its password from.
const PasswordEnv = "BIG_PW"

// Material is the CA bundle and CRL the profiles name, written once into a directory.
type Material struct {
	Dir     string // where ca.pem and crl.pem are
	CA, CRL string // their absolute paths
}

// WriteMaterial writes a CA bundle (root and intermediate of a fresh pki.Set) and the
// intermediate's CRL with revoked entries into dir.
func WriteMaterial(dir string, revoked int) (*Material, error) {
	s, err := pki.NewSet()
	if err != nil {
		return nil, err
	}
	serials := make([]*big.Int, revoked)
	for i := range serials {
		serials[i] = big.NewInt(int64(1_000_000 + i))
	}
	crl, err := s.Intermediate.CRLPEM(pki.CRLOptions{Revoked: serials})
	if err != nil {
		return nil, err
	}
	m := &Material{Dir: dir, CA: filepath.Join(dir, "ca.pem"), CRL: filepath.Join(dir, "crl.pem")}
	if err := os.WriteFile(m.CA, append(s.Root.CertPEM(), s.Intermediate.CertPEM()...), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(m.CRL, crl, 0o600); err != nil {
		return nil, err
	}
	return m, nil
}

// Name is the i-th profile's name.
func Name(i int) string { return fmt.Sprintf("p%06d", i) }

// TOML returns a TOML document of n profiles naming ca.pem and crl.pem next to it.
func TOML(n int) []byte {
	var b strings.Builder
	b.Grow(300 * n)
	b.WriteString("[defaults]\nconnect_timeout = \"5s\"\n")
	for i := range n {
		backend, host := "cassandra", fmt.Sprintf("db%d.internal:9042", i)
		if i%2 == 1 {
			backend, host = "riak", fmt.Sprintf("kv%d.internal:8087", i)
		}
		fmt.Fprintf(&b, `
[profiles.%[1]s]
backend = %[2]q
hosts = [%[3]q]
auth = { mechanism = "password", username = "app", password = { env = %[4]q } }
tls = { mode = "verify-full", ca = { file = "ca.pem" }, crl = [{ file = "crl.pem" }] }
`, Name(i), backend, host, PasswordEnv)
	}
	return []byte(b.String())
}

// WriteTOML writes TOML(n) as big.toml into m.Dir and returns its path.
func (m *Material) WriteTOML(n int) (string, error) {
	p := filepath.Join(m.Dir, "big.toml")
	return p, os.WriteFile(p, TOML(n), 0o600)
}

// Environ returns the same n profiles as CONNFACTORY_ variables ("K=V"), plus the
// password variable.
func (m *Material) Environ(n int) []string {
	env := make([]string, 0, 8*n+1)
	env = append(env, PasswordEnv+"=secret")
	for i := range n {
		backend, host := "cassandra", fmt.Sprintf("db%d.internal:9042", i)
		if i%2 == 1 {
			backend, host = "riak", fmt.Sprintf("kv%d.internal:8087", i)
		}
		p := "CONNFACTORY_PROFILES__" + strings.ToUpper(Name(i)) + "__"
		env = append(env,
			p+"BACKEND="+backend,
			p+"HOSTS="+host,
			p+"AUTH__MECHANISM=password",
			p+"AUTH__USERNAME=app",
			p+"AUTH__PASSWORD__ENV="+PasswordEnv,
			p+"TLS__MODE=verify-full",
			p+"TLS__CA__FILE="+m.CA,
			p+"TLS__CRL__FILE="+m.CRL,
		)
	}
	return env
}
