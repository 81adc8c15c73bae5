package connfactorytest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/riaktest"
)

// ProfileServers is one test server per profile, each configured as its profile needs: TLS
// or plaintext, a client certificate required or not, the profile's user with its
// mechanism. It is how the demo and the end-to-end tests run every example profile
// against a server that should accept it.
type ProfileServers struct {
	// Addrs maps profile names to the "localhost:PORT" their server listens on.
	Addrs   map[string]string
	closers []func() error
}

// StartForProfiles starts a server for each profile. The servers present serverCert and
// verify client certificates against clientCAs. mat is what loaders.Load resolved for the
// profiles (nil: literal secrets only): the servers are given the same passwords.
func StartForProfiles(profiles map[string]*schema.Profile, mat *loaders.Material, serverCert tls.Certificate, clientCAs *x509.CertPool) (ps *ProfileServers, err error) {
	ps = &ProfileServers{Addrs: map[string]string{}}
	defer func() {
		if err != nil {
			_ = ps.Close()
			ps = nil
		}
	}()
	names := make([]string, 0, len(profiles))
	for n := range profiles {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		secret := func(path string, s *schema.SecretSource) string {
			if v, ok := mat.Profile(name).Secret(path); ok {
				return v.Reveal()
			}
			if s == nil {
				return ""
			}
			return s.Value.Reveal()
		}
		addr, err := ps.start(profiles[name], secret, serverCert, clientCAs)
		if err != nil {
			return ps, fmt.Errorf("sandbox: profile %s: %w", name, err)
		}
		// By name, so that verify-full checks the certificate's DNS name as in production.
		_, port, _ := net.SplitHostPort(addr)
		ps.Addrs[name] = net.JoinHostPort("localhost", port)
	}
	return ps, nil
}

// Values returns a configuration layer (connfactory.WithValues) that points every profile
// at its server.
func (ps *ProfileServers) Values() map[string]any {
	profiles := map[string]any{}
	for name, addr := range ps.Addrs {
		profiles[name] = map[string]any{"hosts": []any{addr}}
	}
	return map[string]any{"profiles": profiles}
}

// Close stops every server.
func (ps *ProfileServers) Close() error {
	var errs []error
	for _, c := range ps.closers {
		errs = append(errs, c())
	}
	ps.closers = nil
	return errors.Join(errs...)
}

func (ps *ProfileServers) start(p *schema.Profile, secret func(string, *schema.SecretSource) string, serverCert tls.Certificate, clientCAs *x509.CertPool) (string, error) {
	var serverTLS *tls.Config
	if p.TLS.Enabled() {
		serverTLS = &tls.Config{
			Certificates: []tls.Certificate{serverCert},
			ClientCAs:    clientCAs,
			ClientAuth:   tls.VerifyClientCertIfGiven,
			MinVersion:   tls.VersionTLS12,
		}
		if p.TLS.Cert != nil || p.TLS.PKCS12 != nil || p.TLS.KeyStore != nil {
			serverTLS.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	a := p.Auth
	mech := a.EffectiveMechanism()
	switch p.Backend {
	case schema.Cassandra:
		opts := cqltest.Options{TLS: serverTLS}
		if mech != schema.MechanismNone {
			opts.Credentials = map[string]string{a.Username: secret("auth.password", a.Password)}
			for i, h := range a.PerHost {
				opts.Credentials[h.Username] = secret(fmt.Sprintf("auth.per_host[%d].password", i), h.Password)
			}
		}
		s, err := cqltest.Start(opts)
		if err != nil {
			return "", err
		}
		ps.closers = append(ps.closers, s.Close)
		return s.Addr(), nil
	case schema.Riak:
		opts := riaktest.Options{}
		if mech != schema.MechanismNone {
			opts.Security, opts.TLS = true, serverTLS
			u := riaktest.User{Name: a.Username}
			switch mech {
			case schema.MechanismTrust:
				u.Source = riaktest.SourceTrust
			case schema.MechanismPassword:
				u.Source, u.Password = riaktest.SourcePassword, secret("auth.password", a.Password)
			case schema.MechanismPAM:
				u.Source = riaktest.SourcePAM
				opts.PAM = map[string]string{a.Username: secret("auth.password", a.Password)}
			case schema.MechanismCertificate:
				u.Source = riaktest.SourceCertificate
			}
			opts.Users = []riaktest.User{u}
		}
		s, err := riaktest.Start(opts)
		if err != nil {
			return "", err
		}
		ps.closers = append(ps.closers, s.Close)
		return s.Addr(), nil
	}
	return "", fmt.Errorf("unknown backend %q", p.Backend)
}
