// Package connfactorytest provides a whole secure environment for tests of code that uses
// connfactory, as net/http/httptest does for net/http: a Cassandra (cqltest) and a Riak
// (riaktest) test server side by side over TLS with freshly generated PKI, the PKI and a
// ready profiles file written to a directory, and (NewRegistry) a connfactory.Registry
// loaded from that file. `connfactory sandbox` and `connfactory demo` are built on it.
//
// The servers, PKI and protocol fakes themselves are product-neutral and live in
// testserver/cqltest, testserver/riaktest and testserver/pki; this package is the part that
// writes connfactory profiles.
package connfactorytest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/pki"
	"github.com/connfactory/connfactory/testserver/riaktest"
)

// PassphraseFileName is the name, under Dir/secrets, of the file holding the passphrase
// of the encrypted client key and PKCS#12 bundle.
const PassphraseFileName = "client.passphrase"

// Default credentials of the sandbox's users. They are throwaway test values.
const (
	CassandraUser     = "app"
	CassandraPassword = "sandbox-cassandra-pw"
	RiakPasswordUser  = "riakuser"
	RiakPassword      = "sandbox-riak-pw"
	RiakTrustUser     = "trustuser"
	RiakPAMUser       = "pamuser"
	RiakPAMPassword   = "sandbox-pam-pw"
	RiakCertUser      = "riakcert"
)

// Options configures a Sandbox.
type Options struct {
	// Dir receives the PKI (certs/) and the profiles file. Required; created if missing.
	Dir string
	// CassandraUsers are the Cassandra server's username -> password; default
	// {CassandraUser: CassandraPassword}.
	CassandraUsers map[string]string
	// RiakUsers are the Riak server's users; default the four of the constants above (one
	// per source: password, trust, pam, certificate).
	RiakUsers []riaktest.User
	// RiakPAM is the Riak server's PAM password table; default {RiakPAMUser: RiakPAMPassword}.
	RiakPAM map[string]string
	// ClientCNs are extra client certificates to issue (certs/client-CN.pem and .key), e.g.
	// for Riak certificate users. RiakCertUser always gets one.
	ClientCNs []string
	// Nodes is the number of Cassandra nodes; 1 when zero. With more, they form one
	// cluster (see Cluster) in two datacenters.
	Nodes int
}

// The sandbox cluster's names. Every node has a certificate of its own whose only subject
// alternative names are DNS names, as most operators issue them: its own name, and one name
// the whole cluster shares. The first node is named localhost, the one name that resolves
// on every machine, so that profiles can name it as users name their seed nodes.
const (
	// ClusterSharedName is in every node's certificate: set tls.server_name to it.
	ClusterSharedName = "cassandra.sandbox"
	// ClusterSeedName is the first node's own name.
	ClusterSeedName = "localhost"
)

// Sandbox is a running pair of test servers with their PKI on disk.
type Sandbox struct {
	// Dir is where everything was written.
	Dir string
	// PKI is the generated PKI; its Server leaf is what both servers present.
	PKI *pki.Set
	// Files maps file names under Dir/certs ("ca.pem", "client.pem", ...) to their paths.
	Files map[string]string
	// Cassandra is the CQL server: TLS (client certificate verified if given) and password
	// authentication. With Options.Nodes > 1 it is the cluster's first node.
	Cassandra *cqltest.Server
	// Cluster is the Cassandra cluster when Options.Nodes > 1, else nil: nodes on 127.0.0.1
	// (named localhost), 127.0.0.2, ... on one port, the last third (at least one) in
	// datacenter dc2 and the others in dc1, each with a per-node DNS-only certificate that
	// also carries ClusterSharedName.
	Cluster *cqltest.Cluster
	// Riak is the Riak PB server with security on.
	Riak *riaktest.Server
	// ProfilesFile is the path of the profiles file written for these servers.
	ProfilesFile string
	// PassphraseFile is the path of the file holding the passphrase of the encrypted
	// client key and PKCS#12 bundle (pki.DefaultPassphrase), mode 0600: profiles name it
	// as { file = .. }, so that the passphrase itself is never printed.
	PassphraseFile string

	secretFiles map[string]string     // default password -> path of the file holding it
	registry    *connfactory.Registry // set by NewRegistry, closed by Close
}

// Start generates PKI, starts both servers on loopback and writes Dir.
func Start(opts Options) (sb *Sandbox, err error) {
	if opts.Dir == "" {
		return nil, errors.New("sandbox: Options.Dir is required")
	}
	set, err := pki.NewSet()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	certDir := filepath.Join(opts.Dir, "certs")
	files, err := set.WriteDir(certDir)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	// Secrets go to files the profiles name, so that neither the banner nor `show` nor a
	// warning about passwords written in the configuration shows them.
	pass, err := pki.WriteFiles(filepath.Join(opts.Dir, "secrets"), []pki.File{
		{Name: PassphraseFileName, Data: []byte(pki.DefaultPassphrase + "\n"), Mode: 0o600},
		{Name: "cassandra.password", Data: []byte(CassandraPassword + "\n"), Mode: 0o600},
		{Name: "riak.password", Data: []byte(RiakPassword + "\n"), Mode: 0o600},
		{Name: "pam.password", Data: []byte(RiakPAMPassword + "\n"), Mode: 0o600},
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	cns := append([]string{RiakCertUser}, opts.ClientCNs...)
	for _, cn := range cns {
		if _, done := files["client-"+cn+".pem"]; done {
			continue
		}
		if err := writeClient(set, certDir, cn, files); err != nil {
			return nil, err
		}
	}

	sb = &Sandbox{Dir: opts.Dir, PKI: set, Files: files, PassphraseFile: pass[PassphraseFileName],
		secretFiles: map[string]string{CassandraPassword: pass["cassandra.password"], RiakPassword: pass["riak.password"],
			RiakPAMPassword: pass["pam.password"]}}
	defer func() {
		if err != nil {
			_ = sb.Close()
			sb = nil
		}
	}()

	cassUsers := opts.CassandraUsers
	if cassUsers == nil {
		cassUsers = map[string]string{CassandraUser: CassandraPassword}
	}
	cassOpts := cqltest.Options{TLS: set.ServerTLSConfig(), Credentials: cassUsers}
	if opts.Nodes > 1 {
		sb.Cluster, err = cqltest.StartCluster(clusterOptions(opts.Nodes, set, cassOpts))
		if err != nil {
			return sb, fmt.Errorf("sandbox: %w", err)
		}
		sb.Cassandra = sb.Cluster.Nodes[0].Server()
	} else if sb.Cassandra, err = cqltest.Start(cassOpts); err != nil {
		return sb, fmt.Errorf("sandbox: %w", err)
	}

	riakUsers, pam := opts.RiakUsers, opts.RiakPAM
	if riakUsers == nil {
		riakUsers = []riaktest.User{
			{Name: RiakPasswordUser, Source: riaktest.SourcePassword, Password: RiakPassword},
			{Name: RiakTrustUser, Source: riaktest.SourceTrust},
			{Name: RiakPAMUser, Source: riaktest.SourcePAM},
			{Name: RiakCertUser, Source: riaktest.SourceCertificate},
		}
	}
	if pam == nil {
		pam = map[string]string{RiakPAMUser: RiakPAMPassword}
	}
	riakTLS := set.ServerTLSConfig()
	riakTLS.MaxVersion = tls.VersionTLS12 // Riak's default
	sb.Riak, err = riaktest.Start(riaktest.Options{Security: true, TLS: riakTLS, Users: riakUsers, PAM: pam})
	if err != nil {
		return sb, fmt.Errorf("sandbox: %w", err)
	}

	sb.ProfilesFile = filepath.Join(opts.Dir, "profiles.toml")
	if err := os.WriteFile(sb.ProfilesFile, []byte(sb.Profiles()), 0o600); err != nil {
		return sb, fmt.Errorf("sandbox: %w", err)
	}
	return sb, nil
}

// clusterOptions lays out the sandbox cluster: see Sandbox.Cluster.
func clusterOptions(n int, set *pki.Set, o cqltest.Options) cqltest.ClusterOptions {
	dc2 := max(1, n/3)
	dcs := make([]string, n)
	names := make([]string, n)
	for i := range dcs {
		dcs[i] = "dc1"
		if i >= n-dc2 {
			dcs[i] = "dc2"
		}
		names[i] = fmt.Sprintf("node%d.%s", i+1, ClusterSharedName)
	}
	names[0] = ClusterSeedName
	return cqltest.ClusterOptions{
		Nodes: n, Addresses: []string{"127.0.0.1"}, Datacenters: dcs, Names: names,
		Options: o, PKI: set, Certs: cqltest.CertsDNS, ExtraNames: []string{ClusterSharedName},
	}
}

// writeClient issues a client certificate with common name cn into dir.
func writeClient(set *pki.Set, dir, cn string, files map[string]string) error {
	leaf, err := set.Intermediate.Issue(pki.LeafOptions{CommonName: cn, Client: true})
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	written, err := pki.WriteFiles(dir, []pki.File{
		{Name: "client-" + cn + ".pem", Data: leaf.ChainPEM(), Mode: 0o644},
		{Name: "client-" + cn + ".key", Data: leaf.KeyPEM(), Mode: 0o600},
	})
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	maps.Copy(files, written)
	return nil
}

// Close closes the Registry NewRegistry loaded, if any, then stops both servers. The
// directory is left for the caller.
func (s *Sandbox) Close() error {
	var errs []error
	if s.registry != nil {
		errs = append(errs, s.registry.Close())
		s.registry = nil
	}
	if s.Cluster != nil {
		errs = append(errs, s.Cluster.Close())
	} else if s.Cassandra != nil {
		errs = append(errs, s.Cassandra.Close())
	}
	if s.Riak != nil {
		errs = append(errs, s.Riak.Close())
	}
	return errors.Join(errs...)
}

// Profiles renders a profiles file (TOML) for the running servers: one profile per
// mechanism, plus the encrypted key, PKCS#12 and CRL forms, with the PKI referenced by
// absolute paths, the default passwords inline and the key passphrase by its file.
func (s *Sandbox) Profiles() string {
	f := s.Files
	q := func(v string) string { return fmt.Sprintf("%q", v) }
	// pw names the file holding a default password (written by Start), else the literal.
	pw := func(v string) string {
		if p, ok := s.secretFiles[v]; ok {
			return fmt.Sprintf("{ file = %q }", p)
		}
		return q(v)
	}
	var b strings.Builder
	b.WriteString("# Written by `connfactory sandbox` for its test servers. Throwaway credentials.\n")
	b.WriteString("# The CRL (certs/crl.pem) is signed by the intermediate CA: use it with\n")
	b.WriteString("# ca = [{ file = \".../certs/ca-bundle.pem\" }] (root + intermediate), as\n")
	b.WriteString("# sandbox_cassandra_crl does; with ca.pem alone the CRL's signature cannot be checked.\n\n")
	b.WriteString("[defaults]\nconnect_timeout = \"5s\"\n\n")
	// With a cluster (Options.Nodes > 1) the profiles name the seed as users name theirs, by
	// a name its certificate carries, and verify every node, the seed and the nodes found
	// through system.peers alike, by the name all the nodes' certificates share.
	host, dc, serverName := s.Cassandra.Addr(), "", ""
	if s.Cluster != nil {
		host = net.JoinHostPort(ClusterSeedName, strconv.Itoa(s.Cluster.Port()))
		dc, serverName = "local_datacenter = \"dc1\"\n", "server_name = "+q(ClusterSharedName)+"\n"
	}
	// cass writes a password profile for the Cassandra server with the given tls lines.
	cass := func(name, comment, tlsLines string) {
		fmt.Fprintf(&b, "%s[profiles.%s]\nbackend = \"cassandra\"\nhosts = [%s]\n%s", comment, name, q(host), dc)
		fmt.Fprintf(&b, "[profiles.%s.auth]\nmechanism = \"password\"\nusername = %s\npassword = %s\n",
			name, q(CassandraUser), pw(CassandraPassword))
		fmt.Fprintf(&b, "[profiles.%s.tls]\n%s\n", name, tlsLines)
	}
	ca := "ca = { file = " + q(f[pki.FileCA]) + " }\n" + serverName
	cass("sandbox_cassandra", "", ca)
	cass("sandbox_cassandra_mtls", "", ca+fmt.Sprintf("cert = { file = %s }\nkey = { file = %s }\n",
		q(f[pki.FileClientCert]), q(f[pki.FileClientKey])))
	cass("sandbox_cassandra_encrypted_key", "# The encrypted client key; its passphrase is in a file (the sandbox never prints it).\n",
		ca+fmt.Sprintf("cert = { file = %s }\nkey = { file = %s, passphrase = { file = %s } }\n",
			q(f[pki.FileClientCert]), q(f[pki.FileClientEncKey]), q(s.PassphraseFile)))
	cass("sandbox_cassandra_pkcs12", "# The client certificate and key as one PKCS#12 bundle, same passphrase file.\n",
		ca+fmt.Sprintf("pkcs12 = { file = %s, passphrase = { file = %s } }\n", q(f[pki.FileClientP12]), q(s.PassphraseFile)))
	cass("sandbox_cassandra_keystore", "# Java key stores (JKS): the root as a trust store, the client key pair as a key store.\n",
		fmt.Sprintf("truststore = { file = %s, password = { file = %s } }\nkeystore = { file = %s, password = { file = %s } }\n%s",
			q(f[pki.FileTrustStoreJKS]), q(s.PassphraseFile), q(f[pki.FileClientJKS]), q(s.PassphraseFile), serverName))
	cass("sandbox_cassandra_crl", "# Revocation checked: the intermediate's CRL with ca-bundle.pem (root + intermediate).\n",
		fmt.Sprintf("ca = [{ file = %s }]\ncrl = [{ file = %s }]\n%s", q(f[pki.FileCABundle]), q(f[pki.FileCRL]), serverName))
	if s.Cluster != nil {
		dc = "local_datacenter = \"dc2\"\n"
		cass("sandbox_cassandra_dc2", "# Queries go to the dc2 nodes only.\n", ca)
		dc = "local_datacenter = \"dc1\"\n"
		cass("sandbox_cassandra_node_names", "# Without tls.server_name: the seed verifies by its name, but the nodes found through\n"+
			"# system.peers are dialled by IP, which their certificates (DNS names only) lack.\n"+
			"# `check` passes; `check --discover` shows the failure and the fix.\n",
			"ca = { file = "+q(f[pki.FileCA])+" }\n")
	}

	riak := []struct{ name, mech, user, pw string }{
		{"sandbox_riak_password", "password", RiakPasswordUser, RiakPassword},
		{"sandbox_riak_trust", "trust", RiakTrustUser, ""},
		{"sandbox_riak_pam", "pam", RiakPAMUser, RiakPAMPassword},
		{"sandbox_riak_certificate", "certificate", RiakCertUser, ""},
	}
	for _, r := range riak {
		fmt.Fprintf(&b, "\n[profiles.%s]\nbackend = \"riak\"\nhosts = [%s]\n", r.name, q(s.Riak.Addr()))
		fmt.Fprintf(&b, "[profiles.%s.auth]\nmechanism = %s\nusername = %s\n", r.name, q(r.mech), q(r.user))
		if r.pw != "" {
			fmt.Fprintf(&b, "password = %s\n", pw(r.pw))
		}
		fmt.Fprintf(&b, "[profiles.%s.tls]\nca = { file = %s }\n", r.name, q(f[pki.FileCA]))
		if r.mech == "certificate" {
			fmt.Fprintf(&b, "cert = { file = %s }\nkey = { file = %s }\n",
				q(f["client-"+RiakCertUser+".pem"]), q(f["client-"+RiakCertUser+".key"]))
		}
	}
	return b.String()
}

// ProfileNames lists the profiles Profiles writes, sorted: with a cluster (Options.Nodes >
// 1), also sandbox_cassandra_dc2 and sandbox_cassandra_node_names.
func (s *Sandbox) ProfileNames() []string {
	names := profileNames()
	if s.Cluster != nil {
		names = append(names, clusterProfileNames()...)
		sort.Strings(names)
	}
	return names
}

// clusterProfileNames are the profiles Profiles adds for a cluster (Options.Nodes > 1).
func clusterProfileNames() []string {
	return []string{"sandbox_cassandra_dc2", "sandbox_cassandra_node_names"}
}

// profileNames lists the profiles Profiles writes for a sandbox with one Cassandra node.
func profileNames() []string {
	names := []string{"sandbox_cassandra", "sandbox_cassandra_mtls", "sandbox_cassandra_encrypted_key",
		"sandbox_cassandra_pkcs12", "sandbox_cassandra_keystore", "sandbox_cassandra_crl", "sandbox_riak_password",
		"sandbox_riak_trust", "sandbox_riak_pam", "sandbox_riak_certificate"}
	sort.Strings(names)
	return names
}
