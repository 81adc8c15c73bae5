package pki

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// DefaultPassphrase protects the encrypted files [Set.WriteDir] writes; it is
// the Java keystore default, which is what people type when asked.
const DefaultPassphrase = "changeit"

// Set is the standard PKI the demo, the sandbox and the tests share.
type Set struct {
	// Root is the trust anchor clients and servers are configured with.
	Root *CA
	// Intermediate is issued by Root and issues Server and Client, so every
	// handshake exercises chain building.
	Intermediate *CA
	// OtherRoot is an unrelated root for "untrusted CA" tests.
	OtherRoot *CA
	// Server is valid for localhost, 127.0.0.1 and ::1 (ServerAuth only).
	Server *Leaf
	// Client has CN "app" (ClientAuth only), the username Riak certificate
	// auth compares it with.
	Client *Leaf
}

// NewSet builds a fresh [Set]; it takes about a millisecond.
func NewSet() (*Set, error) {
	root, err := NewRootCA("connfactory test root CA")
	if err != nil {
		return nil, err
	}
	inter, err := root.NewIntermediate("connfactory test intermediate CA")
	if err != nil {
		return nil, err
	}
	other, err := NewRootCA("connfactory other CA")
	if err != nil {
		return nil, err
	}
	server, err := inter.Issue(LeafOptions{
		CommonName:  "localhost",
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		Server:      true,
	})
	if err != nil {
		return nil, err
	}
	client, err := inter.Issue(LeafOptions{CommonName: "app", Client: true})
	if err != nil {
		return nil, err
	}
	return &Set{Root: root, Intermediate: inter, OtherRoot: other, Server: server, Client: client}, nil
}

// ServerTLSConfig returns a new server config presenting Server with its
// chain, asking for (not requiring) a client certificate verified against
// Root. Each call returns a fresh config the caller may modify.
func (s *Set) ServerTLSConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{s.Server.TLSCertificate()},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    s.Root.Pool(),
		MinVersion:   tls.VersionTLS12,
	}
}

// ClientTLSConfig returns a new client config trusting Root, expecting
// "localhost" and offering Client. Each call returns a fresh config the
// caller may modify.
func (s *Set) ClientTLSConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{s.Client.TLSCertificate()},
		RootCAs:      s.Root.Pool(),
		ServerName:   "localhost",
		MinVersion:   tls.VersionTLS12,
	}
}

// Names of the files [Set.WriteDir] writes, for looking up its result.
const (
	FileCA              = "ca.pem"            // Root certificate
	FileIntermediate    = "intermediate.pem"  // Intermediate certificate
	FileServerCert      = "server.pem"        // Server leaf + Intermediate
	FileServerKey       = "server.key"        // Server key, PKCS#8, 0600
	FileClientCert      = "client.pem"        // Client leaf + Intermediate
	FileClientKey       = "client.key"        // Client key, PKCS#8, 0600
	FileClientP12       = "client.p12"        // Client key + chain, PKCS#12, DefaultPassphrase, 0600
	FileClientEncKey    = "client-enc.key"    // Client key, encrypted PKCS#8, DefaultPassphrase, 0600
	FileClientLegacyKey = "client-legacy.key" // Client key, legacy encrypted PEM, DefaultPassphrase, 0600
	FileOtherCA         = "other-ca.pem"      // OtherRoot certificate
	FileCRL             = "crl.pem"           // empty CRL of Intermediate
	FileCABundle        = "ca-bundle.pem"     // Intermediate + Root, for tools that want the whole chain
	FileTrustStoreJKS   = "truststore.jks"    // Root as a JKS trust store, DefaultPassphrase
	FileClientJKS       = "client.jks"        // Client key + chain as a JKS key store, DefaultPassphrase, 0600
)

// WriteDir writes the set's material into dir (created 0700 if missing) and
// returns a map from file name (the File* constants) to path. Private key
// material is written 0600, certificates and CRLs 0644. The encrypted files
// use [DefaultPassphrase].
func (s *Set) WriteDir(dir string) (map[string]string, error) {
	p12, err := s.Client.PKCS12(DefaultPassphrase)
	if err != nil {
		return nil, err
	}
	encKey, err := s.Client.EncryptedPKCS8PEM(DefaultPassphrase)
	if err != nil {
		return nil, err
	}
	legacyKey, err := s.Client.LegacyEncryptedPEM(DefaultPassphrase)
	if err != nil {
		return nil, err
	}
	crl, err := s.Intermediate.CRLPEM(CRLOptions{})
	if err != nil {
		return nil, err
	}
	trust, err := JKSTrustStore(DefaultPassphrase, s.Root)
	if err != nil {
		return nil, err
	}
	keys, err := JKS(DefaultPassphrase, JKSEntry{Alias: "client", Leaf: s.Client})
	if err != nil {
		return nil, err
	}
	return WriteFiles(dir, []File{
		{FileCA, s.Root.CertPEM(), 0o644},
		{FileIntermediate, s.Intermediate.CertPEM(), 0o644},
		{FileServerCert, s.Server.ChainPEM(), 0o644},
		{FileServerKey, s.Server.KeyPEM(), 0o600},
		{FileClientCert, s.Client.ChainPEM(), 0o644},
		{FileClientKey, s.Client.KeyPEM(), 0o600},
		{FileClientP12, p12, 0o600},
		{FileClientEncKey, encKey, 0o600},
		{FileClientLegacyKey, legacyKey, 0o600},
		{FileOtherCA, s.OtherRoot.CertPEM(), 0o644},
		{FileCRL, crl, 0o644},
		{FileCABundle, s.Intermediate.ChainPEM(), 0o644},
		{FileTrustStoreJKS, trust, 0o644},
		{FileClientJKS, keys, 0o600},
	})
}

// File is one file for WriteFiles.
type File struct {
	Name string
	Data []byte
	Mode os.FileMode
}

// WriteFiles writes files into dir (created 0700 if missing) with exactly their modes,
// even over existing files, and returns a map from file name to path.
func WriteFiles(dir string, files []File) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki: create %s: %w", dir, err)
	}
	paths := make(map[string]string, len(files))
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		if err := writeFile(p, f.Data, f.Mode); err != nil {
			return nil, err
		}
		paths[f.Name] = p
	}
	return paths, nil
}

// writeFile sets the mode explicitly because os.WriteFile leaves an existing
// file's (possibly group-readable) mode alone and the factory warns about
// loose key permissions.
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("pki: chmod %s: %w", path, err)
	}
	return nil
}
