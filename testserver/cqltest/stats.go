package cqltest

import (
	"sync"

	"github.com/datastax/go-cassandra-native-protocol/message"
)

// stats counts the requests a server (or every incarnation of a cluster Node) answered.
type stats struct {
	mu    sync.Mutex
	total int
	stmts map[string]int // QUERY and EXECUTE by statement text
}

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
