package factory

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"time"
)

// Report is what Check found on one real connection. On failure it holds what was learnt
// before the failure, and Error says what went wrong. Its JSON form is the one
// `connfactory check --json` prints.
type Report struct {
	Profile string `json:"profile"`
	Backend string `json:"backend"`
	OK      bool   `json:"ok"`
	// TLS describes the negotiated TLS session.
	TLS struct {
		Enabled    bool       `json:"enabled"`
		Mode       string     `json:"mode,omitempty"`
		Version    string     `json:"version,omitempty"`
		Cipher     string     `json:"cipher,omitempty"`
		ServerName string     `json:"server_name,omitempty"`
		PeerChain  []CertInfo `json:"peer_chain,omitempty"`
		ClientCert *CertInfo  `json:"client_cert,omitempty"`
	} `json:"tls"`
	Auth AuthReport `json:"auth"`
	// Server describes the server that answered.
	Server struct {
		Address         string `json:"address,omitempty"`
		Version         string `json:"version,omitempty"`
		Datacenter      string `json:"datacenter,omitempty"`
		Node            string `json:"node,omitempty"`
		ProtocolVersion int    `json:"protocol_version,omitempty"`
	} `json:"server"`
	LatencyMS float64      `json:"latency_ms"`
	Error     *ErrorReport `json:"error,omitempty"`
	// Hosts has one entry per host checked: every configured host, then (CheckDiscover)
	// every node found through system.peers. The fields above describe the first host
	// that passed, or the first that failed when none did.
	Hosts    []HostReport  `json:"hosts,omitempty"`
	Warnings []string      `json:"warnings,omitempty"`
	Latency  time.Duration `json:"-"`
}

// CertInfo describes one certificate.
type CertInfo struct {
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	Serial      string    `json:"serial"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	DaysLeft    int       `json:"days_left"`
	DNSNames    []string  `json:"dns_names,omitempty"`
	IPAddresses []string  `json:"ip_addresses,omitempty"`
	IsCA        bool      `json:"is_ca,omitempty"`
}

// AuthReport describes authentication.
type AuthReport struct {
	Mechanism     string `json:"mechanism"`
	Username      string `json:"username,omitempty"`
	Authenticator string `json:"authenticator,omitempty"`
	// Result is "ok", "failed", "not attempted" or "none" (no authentication configured
	// and none asked for).
	Result string `json:"result"`
}

// HostReport is the outcome of one host of a check.
type HostReport struct {
	// Address is the host:port dialled (as configured, or the discovered rpc address).
	Address string `json:"address"`
	// Source is "configured" (a host the profile lists) or "discovered" (a node found
	// through system.peers).
	Source string `json:"source"`
	// Datacenter is the host's data_center, from system.local, or from system.peers for a
	// discovered node that could not be read.
	Datacenter string `json:"datacenter,omitempty"`
	OK         bool   `json:"ok"`
	// TLS is the session negotiated, or for a failed handshake the server name verified;
	// nil for a plaintext profile.
	TLS   *HostTLS     `json:"tls,omitempty"`
	Error *ErrorReport `json:"error,omitempty"`
}

// HostTLS is the TLS session with one host.
type HostTLS struct {
	Version    string `json:"version,omitempty"`
	Cipher     string `json:"cipher,omitempty"`
	ServerName string `json:"server_name,omitempty"`
}

// fill records a host's own report (r) and outcome in h. serverName is the name TLS
// verifies for the host, "" without TLS.
func (h *HostReport) fill(r *Report, serverName string, err error) {
	h.OK = err == nil
	if r.Server.Datacenter != "" {
		h.Datacenter = r.Server.Datacenter
	}
	if r.TLS.Enabled {
		h.TLS = &HostTLS{Version: r.TLS.Version, Cipher: r.TLS.Cipher, ServerName: r.TLS.ServerName}
		if h.TLS.ServerName == "" {
			h.TLS.ServerName = serverName
		}
	}
	if err != nil {
		h.Error = &ErrorReport{Kind: string(KindOf(err)), Message: err.Error()}
	}
}

// ErrorReport is a failure's kind and message.
type ErrorReport struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// newCertInfo describes c as of now.
func newCertInfo(c *x509.Certificate, now time.Time) CertInfo {
	ci := CertInfo{
		Subject:   c.Subject.String(),
		Issuer:    c.Issuer.String(),
		Serial:    c.SerialNumber.String(),
		NotBefore: c.NotBefore.UTC(),
		NotAfter:  c.NotAfter.UTC(),
		DaysLeft:  int(c.NotAfter.Sub(now).Hours() / 24),
		DNSNames:  c.DNSNames,
		IsCA:      c.IsCA,
	}
	for _, ip := range c.IPAddresses {
		ci.IPAddresses = append(ci.IPAddresses, ip.String())
	}
	return ci
}

// fillTLS records a connection state in r.TLS.
func (r *Report) fillTLS(cs tls.ConnectionState, now time.Time) {
	t := &r.TLS
	t.Enabled = true
	t.Version = tls.VersionName(cs.Version)
	t.Cipher = tls.CipherSuiteName(cs.CipherSuite)
	if t.ServerName == "" {
		t.ServerName = cs.ServerName
	}
	t.PeerChain = t.PeerChain[:0]
	for _, c := range cs.PeerCertificates {
		t.PeerChain = append(t.PeerChain, newCertInfo(c, now))
	}
}

// Fail records err in r.
func (r *Report) Fail(err error) {
	r.OK = false
	r.Error = &ErrorReport{Kind: string(KindOf(err)), Message: err.Error()}
	// A refused certificate is the first thing an operator wants to see.
	var fe *Error
	if len(r.TLS.PeerChain) == 0 && errors.As(err, &fe) {
		for _, c := range fe.PeerCertificates {
			r.TLS.PeerChain = append(r.TLS.PeerChain, newCertInfo(c, time.Now()))
		}
	}
}

// hostOnly strips the port from a host:port, for server names.
func hostOnly(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return h
}
