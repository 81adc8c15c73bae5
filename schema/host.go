package schema

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Host is one parsed entry of a profile's hosts.
type Host struct {
	// Name is the host name or IP address as written, without IPv6 brackets.
	Name string
	// Port is the port written, or the backend's default port.
	Port int
}

// String is h as host:port, an IPv6 address in brackets ([::1]:9042): what is dialled.
func (h Host) String() string {
	port := strconv.Itoa(h.Port)
	if strings.Contains(h.Name, ":") {
		return "[" + h.Name + "]:" + port
	}
	return h.Name + ":" + port
}

// ParseHost parses a hosts entry: `host`, `host:port`, `[IPv6]` or `[IPv6]:port`. A host
// without a port gets backend b's default port (9042 for Cassandra, 8087 for Riak). The
// checks are syntactic only: nothing is resolved, so parsing never touches the network.
// This is the one hosts rule: validation reports its errors at `hosts[i]`, and the
// factory dials what it returns.
func ParseHost(s string, b Backend) (Host, error) {
	switch {
	case s == "":
		return Host{}, fmt.Errorf("host is empty: write host[:port]")
	case strings.ContainsAny(s, " \t\r\n"):
		return Host{}, fmt.Errorf("host %q contains spaces: write host[:port]", s)
	case strings.Contains(s, "/"):
		return Host{}, fmt.Errorf("host %q has a scheme or path: write host[:port] only, like db1.internal:9042", s)
	}
	if strings.HasPrefix(s, "[") {
		return parseBracketed(s, b)
	}
	h := Host{Name: s, Port: b.DefaultPort()}
	switch strings.Count(s, ":") {
	case 0:
	case 1:
		name, port, _ := strings.Cut(s, ":")
		n, err := parsePort(s, port)
		if err != nil {
			return Host{}, err
		}
		h = Host{Name: name, Port: n}
	default:
		return Host{}, fmt.Errorf("host %q: write an IPv6 address in brackets, [addr] or [addr]:port", s)
	}
	if h.Name == "" {
		return Host{}, fmt.Errorf("host %q has no host name before the port", s)
	}
	for _, r := range h.Name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return Host{}, fmt.Errorf("host %q: %q is not a host name or IP address", s, h.Name)
		}
	}
	return h, nil
}

// parseBracketed parses `[IPv6]` and `[IPv6]:port`.
func parseBracketed(s string, b Backend) (Host, error) {
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return Host{}, fmt.Errorf("host %q has no closing ]: write IPv6 as [addr] or [addr]:port", s)
	}
	name, rest := s[1:end], s[end+1:]
	if ip, err := netip.ParseAddr(name); err != nil || !ip.Is6() {
		return Host{}, fmt.Errorf("host %q: %q in brackets is not an IPv6 address", s, name)
	}
	h := Host{Name: name, Port: b.DefaultPort()}
	if rest == "" {
		return h, nil
	}
	if !strings.HasPrefix(rest, ":") {
		return Host{}, fmt.Errorf("host %q: after ] only :port may follow", s)
	}
	n, err := parsePort(s, rest[1:])
	if err != nil {
		return Host{}, err
	}
	h.Port = n
	return h, nil
}

func parsePort(entry, port string) (int, error) {
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strings.HasPrefix(port, "+") {
		return 0, fmt.Errorf("host %q: port %q is not valid: accepted 1 to 65535", entry, port)
	}
	return n, nil
}

// HostsPath is the config path of entry i of a profile's hosts, relative to the profile:
// `hosts[i]`, written as every list path is (`tls.ca[0]`, `auth.per_host[1]`).
func HostsPath(i int) string { return listPath("hosts", i) }

// listPath is entry i of list key: key[i].
func listPath(key string, i int) string { return key + "[" + strconv.Itoa(i) + "]" }

func quote(s string) string { return strconv.Quote(s) }
