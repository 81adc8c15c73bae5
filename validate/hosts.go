package validate

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// hostProblem says what is wrong with a hosts entry, or "" when it is a valid host[:port].
// The checks are syntactic only: nothing is resolved, so validation never touches the
// network.
func hostProblem(s string) string {
	switch {
	case s == "":
		return "host is empty: write host[:port]"
	case strings.ContainsAny(s, " \t\r\n"):
		return fmt.Sprintf("host %q contains spaces: write host[:port]", s)
	case strings.Contains(s, "://") || strings.Contains(s, "/"):
		return fmt.Sprintf("host %q has a scheme or path: write host[:port] only, like db1.internal:9042", s)
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return fmt.Sprintf("host %q has no closing ]: write IPv6 as [addr] or [addr]:port", s)
		}
		host, port = s[1:end], s[end+1:]
		if ip, err := netip.ParseAddr(host); err != nil || !ip.Is6() {
			return fmt.Sprintf("host %q: %q in brackets is not an IPv6 address", s, host)
		}
		if port != "" {
			if !strings.HasPrefix(port, ":") {
				return fmt.Sprintf("host %q: after ] only :port may follow", s)
			}
			return portProblem(s, port[1:])
		}
		return ""
	}
	switch strings.Count(s, ":") {
	case 0:
	case 1:
		host, port, _ = strings.Cut(s, ":")
		if p := portProblem(s, port); p != "" {
			return p
		}
	default:
		return fmt.Sprintf("host %q: write an IPv6 address in brackets, [addr] or [addr]:port", s)
	}
	if host == "" {
		return fmt.Sprintf("host %q has no host name before the port", s)
	}
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return fmt.Sprintf("host %q: %q is not a host name or IP address", s, host)
		}
	}
	return ""
}

func portProblem(entry, port string) string {
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strings.HasPrefix(port, "+") {
		return fmt.Sprintf("host %q: port %q is not valid: accepted 1 to 65535", entry, port)
	}
	return ""
}
