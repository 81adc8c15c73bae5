package factory

import (
	"fmt"
	"time"

	"github.com/connfactory/connfactory/schema"
)

// compilePool reads a profile's pool section: connections per host, Riak's maximum and
// idle timeout (0: the driver's default). It re-checks what validate checks, so that a
// profile built in Go is held to the same rules.
func compilePool(path string, p *schema.Pool, b schema.Backend) (conns, max int, idle time.Duration, ps []schema.Problem) {
	if p == nil {
		return 0, 0, 0, nil
	}
	for _, n := range []struct {
		key string
		v   int
	}{{"connections_per_host", p.ConnectionsPerHost}, {"max_connections_per_host", p.MaxConnectionsPerHost}} {
		if n.v < 0 || n.v > schema.MaxPoolConnections {
			ps = append(ps, schema.Problem{Path: path + ".pool." + n.key,
				Message: fmt.Sprintf("%s must be 1 to %d (is %d)", n.key, schema.MaxPoolConnections, n.v)})
		}
	}
	if p.IdleTimeout < 0 {
		ps = append(ps, schema.Problem{Path: path + ".pool.idle_timeout", Message: "idle_timeout must not be negative"})
	}
	if b == schema.Cassandra {
		if p.MaxConnectionsPerHost != 0 {
			ps = append(ps, schema.Problem{Path: path + ".pool.max_connections_per_host",
				Message: "max_connections_per_host applies to riak only: gocql keeps a fixed pool of connections_per_host connections to each Cassandra host"})
		}
		if p.IdleTimeout != 0 {
			ps = append(ps, schema.Problem{Path: path + ".pool.idle_timeout",
				Message: "idle_timeout applies to riak only: gocql keeps its connections open"})
		}
	} else if p.MaxConnectionsPerHost > 0 && p.ConnectionsPerHost > p.MaxConnectionsPerHost {
		ps = append(ps, schema.Problem{Path: path + ".pool.max_connections_per_host", Message: fmt.Sprintf(
			"max_connections_per_host %d is below connections_per_host %d", p.MaxConnectionsPerHost, p.ConnectionsPerHost)})
	}
	if len(ps) > 0 {
		return 0, 0, 0, ps
	}
	return p.ConnectionsPerHost, p.MaxConnectionsPerHost, p.IdleTimeout.Std(), nil
}
