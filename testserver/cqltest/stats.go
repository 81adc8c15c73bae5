package cqltest

import (
	"sync"

	"github.com/datastax/go-cassandra-native-protocol/message"
)

// stats counts the requests a server (or every incarnation of a cluster Node) answered.
type stats struct {
	mu         sync.Mutex
	total      int
	stmts      map[string]int // QUERY and EXECUTE by statement text
	handshakes Handshakes
}

// Handshakes counts a server's successful TLS handshakes: full ones, and abbreviated ones
// that resumed an earlier session (tls.ConnectionState.DidResume). Failed handshakes are in
// neither count.
type Handshakes struct {
	// Full counts the handshakes that verified certificates and agreed on new keys.
	Full int
	// Resumed counts the handshakes that resumed a session (a TLS 1.2 session ticket or a
	// TLS 1.3 pre-shared key).
	Resumed int
}

// Total is Full + Resumed.
func (h Handshakes) Total() int { return h.Full + h.Resumed }

func newStats() *stats { return &stats{stmts: map[string]int{}} }

// count records one request; EXECUTE counts under its prepared statement's text.
func (st *stats) count(c *conn, msg message.Message) {
	text := ""
	switch m := msg.(type) {
	case *message.Query:
		text = m.Query
	case *message.Execute:
		c.srv.mu.Lock()
		if p := c.srv.prepared[string(m.QueryId)]; p != nil {
			text = p.query
		}
		c.srv.mu.Unlock()
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.total++
	if text != "" {
		st.stmts[text]++
	}
}

func (st *stats) requests() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.total
}

func (st *stats) served(statement string) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.stmts[statement]
}

// handshake records one successful TLS handshake.
func (st *stats) handshake(resumed bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if resumed {
		st.handshakes.Resumed++
	} else {
		st.handshakes.Full++
	}
}

func (st *stats) tlsHandshakes() Handshakes {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.handshakes
}
