package cqltest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/datastax/go-cassandra-native-protocol/primitive"

	"github.com/connfactory/connfactory/testserver/pki"
)

// ErrLoopbackUnavailable is returned (wrapped) by StartCluster when a node's address cannot
// be bound: on Linux the whole 127.0.0.0/8 is loopback, elsewhere (macOS, some containers)
// only 127.0.0.1 is unless aliases are added. Tests skip on it.
var ErrLoopbackUnavailable = errors.New("cqltest: the cluster's loopback addresses cannot be bound (Linux routes all of 127.0.0.0/8 to loopback; elsewhere add aliases such as `ifconfig lo0 alias 127.0.0.2`)")

// DefaultDomain is the DNS domain of the nodes' names: node1.cqltest.test, ...
const DefaultDomain = "cqltest.test"

// DefaultSharedName is the one DNS name of the CertsShared certificate.
const DefaultSharedName = "cluster." + DefaultDomain

// CertLayout chooses the certificates the nodes of a Cluster present.
type CertLayout int

const (
	// CertsNone uses ClusterOptions.Options.TLS as given: plaintext when it is nil.
	CertsNone CertLayout = iota
	// CertsDNS gives every node a certificate of its own whose only subject alternative names
	// are DNS names (its name and ClusterOptions.ExtraNames): the usual per-node certificate,
	// which a client that dials the node by IP address cannot verify.
	CertsDNS
	// CertsDNSAndIP gives every node a certificate of its own for its name and its IP address.
	CertsDNSAndIP
	// CertsShared gives every node the same certificate, for ClusterOptions.SharedName only:
	// clients verify it by setting their TLS server name to that name.
	CertsShared
)

// String names the layout as tests and the sandbox print it.
func (l CertLayout) String() string {
	switch l {
	case CertsNone:
		return "none"
	case CertsDNS:
		return "per-node, DNS SANs only"
	case CertsDNSAndIP:
		return "per-node, DNS + IP SANs"
	case CertsShared:
		return "one shared cluster certificate"
	}
	return "CertLayout(" + strconv.Itoa(int(l)) + ")"
}

// ClusterOptions configures a Cluster. The zero value is three plaintext nodes in
// DefaultDatacenter on 127.0.0.2 to 127.0.0.4, on one free port.
type ClusterOptions struct {
	// Nodes is the number of nodes; 3 when zero.
	Nodes int
	// Addresses are the nodes' IP addresses, node 0 first. Nodes beyond the list take the
	// addresses after its last one; an empty list starts at 127.0.0.2.
	Addresses []string
	// Port is the one port every node listens on, as every node of a real cluster uses one
	// native_transport_port; 0 picks one that is free on every address.
	Port int
	// Datacenters are the nodes' data_center; nodes beyond the list get DefaultDatacenter.
	Datacenters []string
	// Racks are the nodes' rack; nodes beyond the list get DefaultRack.
	Racks []string
	// ReleaseVersions are the nodes' release_version; nodes beyond the list get
	// Options.ReleaseVersion, or DefaultReleaseVersion. Nodes of release 4 or later serve
	// system.peers_v2 (which names each peer's native port); older ones answer it
	// "unconfigured table", so drivers read system.peers and dial peers on their own
	// configured port.
	ReleaseVersions []string
	// Names are the nodes' DNS names, written into their certificates; nodes beyond the list
	// are named nodeN.DefaultDomain (N counting from 1). Nothing resolves these names.
	Names []string
	// Options is every node's server configuration: credentials, authenticator, protocol
	// versions, and TLS (versions, client authentication; for CertsNone also the
	// certificate). Datacenter and ReleaseVersion come from the lists above.
	Options Options
	// Node, when set, adjusts node i's options after the lists above are applied: other
	// credentials on one node, say.
	Node func(i int, o *Options)
	// Certs chooses the nodes' certificates, issued by PKI.Intermediate.
	Certs CertLayout
	// PKI issues the nodes' certificates; nil makes a fresh pki.Set when Certs needs one.
	// With Options.TLS nil, the nodes' TLS settings are PKI.ServerTLSConfig()'s.
	PKI *pki.Set
	// ExtraNames are DNS names added to every per-node certificate (CertsDNS, CertsDNSAndIP),
	// such as one name shared by the cluster.
	ExtraNames []string
	// SharedName is the DNS name of the CertsShared certificate; DefaultSharedName when empty.
	SharedName string
}

// Cluster is a running set of CQL test servers that present themselves as the nodes of one
// Cassandra cluster: one port, one address per node, each node with its own host_id,
// data_center, rack, tokens and release_version, and system.peers / system.peers_v2 listing
// the other nodes (stopped ones included, as Cassandra's gossip keeps them) with their rpc
// addresses. Create it with StartCluster and Close it when done.
type Cluster struct {
	// Nodes are the cluster's nodes in order.
	Nodes []*Node
	// PKI issued the nodes' certificates (nil for CertsNone without a PKI given).
	PKI *pki.Set
	// Certs is the certificate layout the nodes present.
	Certs CertLayout
	port  int
}

// Node is one node of a Cluster. It can be stopped and restarted; its request counters
// survive restarts.
type Node struct {
	// Index is the node's position in Cluster.Nodes.
	Index int
	// IP is the address the node listens on.
	IP net.IP
	// Name is the node's DNS name (in its certificate, except with CertsShared).
	Name string
	// Cert is the certificate the node presents, nil without TLS from the cluster's PKI.
	Cert *pki.Leaf

	cluster *Cluster
	ident   identity
	opts    Options
	stats   *stats

	mu  sync.Mutex
	srv *Server // nil while stopped
}

// StartCluster starts opts.Nodes nodes on their addresses and one shared port. Where an
// address cannot be bound, the error wraps ErrLoopbackUnavailable.
func StartCluster(opts ClusterOptions) (c *Cluster, err error) {
	n := opts.Nodes
	if n <= 0 {
		n = 3
	}
	ips, err := clusterIPs(opts.Addresses, n)
	if err != nil {
		return nil, err
	}
	c = &Cluster{PKI: opts.PKI, Certs: opts.Certs}
	if c.PKI == nil && opts.Certs != CertsNone {
		if c.PKI, err = pki.NewSet(); err != nil {
			return nil, fmt.Errorf("cqltest: %w", err)
		}
	}
	var shared *pki.Leaf
	if opts.Certs == CertsShared {
		name := opts.SharedName
		if name == "" {
			name = DefaultSharedName
		}
		if shared, err = c.PKI.Intermediate.Issue(pki.LeafOptions{CommonName: name, DNSNames: []string{name}, Server: true}); err != nil {
			return nil, fmt.Errorf("cqltest: %w", err)
		}
	}
	for i, ip := range ips {
		node := &Node{Index: i, IP: ip, cluster: c, stats: newStats(),
			Name: pick(opts.Names, i, fmt.Sprintf("node%d.%s", i+1, DefaultDomain))}
		o := opts.Options
		o.Datacenter = pick(opts.Datacenters, i, DefaultDatacenter)
		o.ReleaseVersion = pick(opts.ReleaseVersions, i, orString(opts.Options.ReleaseVersion, DefaultReleaseVersion))
		if opts.Node != nil {
			opts.Node(i, &o)
		}
		node.ident = identity{
			hostID:     nodeHostID(i),
			datacenter: orString(o.Datacenter, DefaultDatacenter),
			rack:       pick(opts.Racks, i, DefaultRack),
			release:    orString(o.ReleaseVersion, DefaultReleaseVersion),
			tokens:     []string{nodeToken(i, n)},
		}
		switch opts.Certs {
		case CertsDNS, CertsDNSAndIP:
			lo := pki.LeafOptions{CommonName: node.Name, DNSNames: append([]string{node.Name}, opts.ExtraNames...), Server: true}
			if opts.Certs == CertsDNSAndIP {
				lo.IPAddresses = []net.IP{ip}
			}
			if node.Cert, err = c.PKI.Intermediate.Issue(lo); err != nil {
				return nil, fmt.Errorf("cqltest: %w", err)
			}
		case CertsShared:
			node.Cert = shared
		}
		if node.Cert != nil {
			var t *tls.Config
			if o.TLS != nil {
				t = o.TLS.Clone()
			} else {
				t = c.PKI.ServerTLSConfig()
			}
			t.Certificates = []tls.Certificate{node.Cert.TLSCertificate()}
			o.TLS = t
		}
		node.opts = o
		c.Nodes = append(c.Nodes, node)
	}
	lns, port, err := listenAll(ips, opts.Port)
	if err != nil {
		return nil, err
	}
	c.port = port
	defer func() {
		if err != nil {
			_ = c.Close()
			c = nil
		}
	}()
	for i, node := range c.Nodes {
		srv, serr := start(node.opts, lns[i], node, node.stats)
		if serr != nil {
			for _, ln := range lns[i+1:] {
				_ = ln.Close()
			}
			return c, serr
		}
		node.srv = srv
	}
	return c, nil
}

func pick(list []string, i int, def string) string {
	if i < len(list) && list[i] != "" {
		return list[i]
	}
	return def
}

func orString(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// clusterIPs lists n IPv4 addresses: the given ones, then the addresses after the last.
func clusterIPs(given []string, n int) ([]net.IP, error) {
	var ips []net.IP
	for _, a := range given {
		ip := net.ParseIP(a).To4()
		if ip == nil {
			return nil, fmt.Errorf("cqltest: ClusterOptions.Addresses: %q is not an IPv4 address", a)
		}
		ips = append(ips, ip)
	}
	next := net.IPv4(127, 0, 0, 2).To4()
	if len(ips) > 0 {
		next = ips[len(ips)-1]
	}
	for len(ips) < n {
		if len(ips) > 0 {
			next = nextIP(next)
		}
		ips = append(ips, next)
	}
	return ips[:n], nil
}

func nextIP(ip net.IP) net.IP {
	out := append(net.IP(nil), ip...)
	for i := len(out) - 1; i >= 0; i-- {
		out[i]++
		if out[i] != 0 {
			break
		}
	}
	return out
}

// listenAll binds every address on one port. With port 0 it lets the kernel pick a port on
// the first address and tries that on the others, again with another port when one of them
// has it taken.
func listenAll(ips []net.IP, port int) ([]net.Listener, int, error) {
	attempts := 1
	if port == 0 {
		attempts = 20
	}
	var lastErr error
	for a := 0; a < attempts; a++ {
		lns, p, err := tryListen(ips, port)
		if err == nil {
			return lns, p, nil
		}
		if errors.Is(err, ErrLoopbackUnavailable) {
			return nil, 0, err
		}
		lastErr = err
	}
	return nil, 0, lastErr
}

func tryListen(ips []net.IP, port int) ([]net.Listener, int, error) {
	var lns []net.Listener
	fail := func(err error) ([]net.Listener, int, error) {
		for _, ln := range lns {
			_ = ln.Close()
		}
		if errors.Is(err, syscall.EADDRNOTAVAIL) {
			return nil, 0, fmt.Errorf("%w: %v", ErrLoopbackUnavailable, err)
		}
		return nil, 0, fmt.Errorf("cqltest: listen: %w", err)
	}
	for _, ip := range ips {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), strconv.Itoa(port)))
		if err != nil {
			return fail(err)
		}
		lns = append(lns, ln)
		port = ln.Addr().(*net.TCPAddr).Port
	}
	return lns, port, nil
}

// nodeHostID is node i's host_id: the lone server's with the node number in its last bytes.
func nodeHostID(i int) primitive.UUID {
	id := defaultHostID
	id[14], id[15] = byte((i+1)>>8), byte(i+1)
	return id
}

// nodeToken spreads n nodes evenly over the Murmur3 ring, one token each.
func nodeToken(i, n int) string {
	step := math.MaxUint64 / uint64(n)
	return strconv.FormatInt(int64(uint64(i)*step+uint64(1)<<63), 10)
}

// Port is the port every node listens on.
func (c *Cluster) Port() int { return c.port }

// Addrs lists every node's "ip:port".
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr()
	}
	return out
}

// Close stops every node and waits for their goroutines. It is idempotent.
func (c *Cluster) Close() error {
	var errs []error
	for _, n := range c.Nodes {
		errs = append(errs, n.Stop())
	}
	return errors.Join(errs...)
}

// peersOf lists the nodes other than self, stopped ones included.
func (c *Cluster) peersOf(self *Node) []peer {
	var out []peer
	for _, n := range c.Nodes {
		if n != self {
			out = append(out, peer{ip: n.IP, port: c.port, identity: n.ident})
		}
	}
	return out
}

// peer is one row of system.peers.
type peer struct {
	ip   net.IP
	port int
	identity
}

// Addr is the node's "ip:port".
func (n *Node) Addr() string { return net.JoinHostPort(n.IP.String(), strconv.Itoa(n.cluster.port)) }

// Host is the node's IP address as a string.
func (n *Node) Host() string { return n.IP.String() }

// Port is the cluster's port.
func (n *Node) Port() int { return n.cluster.port }

// Datacenter is the node's data_center.
func (n *Node) Datacenter() string { return n.ident.datacenter }

// Rack is the node's rack.
func (n *Node) Rack() string { return n.ident.rack }

// HostID is the node's host_id.
func (n *Node) HostID() string { return n.ident.hostID.String() }

// ReleaseVersion is the node's release_version.
func (n *Node) ReleaseVersion() string { return n.ident.release }

// Server is the node's running server, nil while it is stopped.
func (n *Node) Server() *Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.srv
}

// Running reports whether the node is serving.
func (n *Node) Running() bool { return n.Server() != nil }

// Stop closes the node's server (listener and every connection) and waits for it. Stopping a
// stopped node does nothing.
func (n *Node) Stop() error {
	n.mu.Lock()
	srv := n.srv
	n.srv = nil
	n.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// Restart starts a stopped node again on its address and port; a running node is left as it is.
func (n *Node) Restart() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv != nil {
		return nil
	}
	ln, err := net.Listen("tcp", n.Addr())
	if err != nil {
		return fmt.Errorf("cqltest: restart %s: %w", n.Addr(), err)
	}
	srv, err := start(n.opts, ln, n, n.stats)
	if err != nil {
		return err
	}
	n.srv = srv
	return nil
}

// Requests counts the requests the node answered, over all its restarts.
func (n *Node) Requests() int { return n.stats.requests() }

// Served counts the QUERY and EXECUTE requests of exactly this statement text the node
// answered, over all its restarts.
func (n *Node) Served(statement string) int { return n.stats.served(statement) }

// Handshakes counts the node's successful TLS handshakes, full and resumed, over all its
// restarts.
func (n *Node) Handshakes() Handshakes { return n.stats.tlsHandshakes() }

// OpenConnections is how many client connections the node has open now (0 while stopped).
func (n *Node) OpenConnections() int {
	if s := n.Server(); s != nil {
		return s.OpenConnections()
	}
	return 0
}

// LastAuthUser is the username of the last successful authentication on the node's current
// server, "" while stopped.
func (n *Node) LastAuthUser() string {
	if s := n.Server(); s != nil {
		return s.LastAuthUser()
	}
	return ""
}

// peers lists the other nodes of the server's cluster; none for a lone server.
func (s *Server) peers() []peer {
	if s.node == nil {
		return nil
	}
	return s.node.cluster.peersOf(s.node)
}

// peersV2 reports whether the server has system.peers_v2: cluster nodes of release 4 or later.
func (s *Server) peersV2() bool {
	if s.node == nil {
		return false
	}
	major, _, _ := strings.Cut(s.ident.release, ".")
	m, err := strconv.Atoi(major)
	return err == nil && m >= 4
}
