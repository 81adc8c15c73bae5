package cqltest

import (
	"crypto/md5"
	"fmt"
	"net"
	"regexp"
	"strings"

	"github.com/datastax/go-cassandra-native-protocol/datacodec"
	"github.com/datastax/go-cassandra-native-protocol/datatype"
	"github.com/datastax/go-cassandra-native-protocol/message"
	"github.com/datastax/go-cassandra-native-protocol/primitive"
)

// cqlVersion is the CQL language version Cassandra 4.1 reports.
const cqlVersion = "3.4.6"

// Fixed ids: a lone server is a one-node cluster with one host and one schema version, and
// stable values make results reproducible. Nodes of a Cluster get host ids of their own.
var (
	defaultHostID = primitive.UUID{0xc0, 0xd1, 0xd2, 0x1e, 0xbb, 0x01, 0x41, 0x96, 0x86, 0xdb, 0xbc, 0x31, 0x7b, 0xc1, 0x79, 0x6a}
	schemaVersion = primitive.UUID{0x5a, 0x1c, 0x39, 0x5e, 0xb4, 0x1f, 0x35, 0x4a, 0x9e, 0x2c, 0x2b, 0x4e, 0x0c, 0x7d, 0x5d, 0x11}
)

// column describes a table column. src is the name the table knows it by; name is what a
// select list called it (an alias, or src).
type column struct {
	name string
	typ  datatype.DataType
	src  string
}

func col(name string, typ datatype.DataType) column { return column{name: name, typ: typ, src: name} }

// row is one row of a system table, by column name; a missing column is null.
type row map[string]any

// table is a system table the server serves: its columns, and its rows as the node that a
// connection reached sees them (local is that connection's local address).
type table struct {
	keyspace, name string
	columns        []column
	rows           func(s *Server, local *net.TCPAddr) []row
}

// systemLocal has the columns of Cassandra 4.1's system.local that drivers read (truncated_at
// is left out: no driver reads it).
var systemLocal = &table{keyspace: "system", name: "local", columns: []column{
	col("key", datatype.Varchar),
	col("bootstrapped", datatype.Varchar),
	col("broadcast_address", datatype.Inet),
	col("broadcast_port", datatype.Int),
	col("cluster_name", datatype.Varchar),
	col("cql_version", datatype.Varchar),
	col("data_center", datatype.Varchar),
	col("gossip_generation", datatype.Int),
	col("host_id", datatype.Uuid),
	col("listen_address", datatype.Inet),
	col("listen_port", datatype.Int),
	col("native_protocol_version", datatype.Varchar),
	col("partitioner", datatype.Varchar),
	col("rack", datatype.Varchar),
	col("release_version", datatype.Varchar),
	col("rpc_address", datatype.Inet),
	col("rpc_port", datatype.Int),
	col("schema_version", datatype.Uuid),
	col("tokens", datatype.NewSet(datatype.Varchar)),
}, rows: func(s *Server, local *net.TCPAddr) []row {
	id := s.ident
	return []row{{
		"key": "local", "bootstrapped": "COMPLETED",
		"broadcast_address": local.IP, "broadcast_port": int32(7000),
		"cluster_name": DefaultClusterName, "cql_version": cqlVersion,
		"data_center": id.datacenter, "gossip_generation": int32(1), "host_id": id.hostID,
		"listen_address": local.IP, "listen_port": int32(7000),
		"native_protocol_version": s.maxVersionString(), "partitioner": partitioner,
		"rack": id.rack, "release_version": id.release,
		"rpc_address": local.IP, "rpc_port": int32(s.Port()),
		"schema_version": schemaVersion, "tokens": id.tokens,
	}}
}}

// systemPeers lists the other nodes of a cluster (no rows on a lone server). Even empty it
// must carry its column metadata: gocql fails a rows result without metadata ("did not
// receive metadata but prepared info is nil").
var systemPeers = &table{keyspace: "system", name: "peers", columns: []column{
	col("peer", datatype.Inet),
	col("data_center", datatype.Varchar),
	col("host_id", datatype.Uuid),
	col("preferred_ip", datatype.Inet),
	col("rack", datatype.Varchar),
	col("release_version", datatype.Varchar),
	col("rpc_address", datatype.Inet),
	col("schema_version", datatype.Uuid),
	col("tokens", datatype.NewSet(datatype.Varchar)),
}, rows: peerRows(func(p peer) row {
	return row{
		"peer": p.ip, "data_center": p.datacenter, "host_id": p.hostID, "rack": p.rack,
		"release_version": p.release, "rpc_address": p.ip, "schema_version": schemaVersion,
		"tokens": p.tokens,
	}
})}

// systemPeersV2 is Cassandra 4's peers table, which names each peer's native port. Nodes of a
// Cluster serve it when their release_version is 4 or later; a lone Server answers it with
// "unconfigured table", as Cassandra 3 does, so that drivers fall back to system.peers.
var systemPeersV2 = &table{keyspace: "system", name: "peers_v2", columns: []column{
	col("peer", datatype.Inet),
	col("peer_port", datatype.Int),
	col("data_center", datatype.Varchar),
	col("host_id", datatype.Uuid),
	col("native_address", datatype.Inet),
	col("native_port", datatype.Int),
	col("preferred_ip", datatype.Inet),
	col("preferred_port", datatype.Int),
	col("rack", datatype.Varchar),
	col("release_version", datatype.Varchar),
	col("schema_version", datatype.Uuid),
	col("tokens", datatype.NewSet(datatype.Varchar)),
}, rows: peerRows(func(p peer) row {
	return row{
		"peer": p.ip, "peer_port": int32(7000), "data_center": p.datacenter, "host_id": p.hostID,
		"native_address": p.ip, "native_port": int32(p.port), "rack": p.rack,
		"release_version": p.release, "schema_version": schemaVersion, "tokens": p.tokens,
	}
})}

// peerRows makes a peers table's rows: one per other node of the server's cluster.
func peerRows(build func(peer) row) func(*Server, *net.TCPAddr) []row {
	return func(s *Server, _ *net.TCPAddr) []row {
		var rows []row
		for _, p := range s.peers() {
			rows = append(rows, build(p))
		}
		return rows
	}
}

// partitioner is the partitioner every node announces; tokens are Murmur3 tokens.
const partitioner = "org.apache.cassandra.dht.Murmur3Partitioner"

// statement is an analysed CQL statement: either an error to return, a keyspace to switch to,
// or a projection of a table's rows.
type statement struct {
	query    string
	err      message.Message // Invalid or SyntaxError; nil when the statement runs
	useKS    string          // USE <keyspace>
	keyspace string          // resolved keyspace and table of a SELECT
	table    string
	src      *table // nil: a table that exists but has no known columns and no rows
	cols     []column
	markers  int
	id       []byte
	metaID   []byte
}

var (
	selectRE = regexp.MustCompile(`(?is)^select\s+(?:json\s+)?(?:distinct\s+)?(.+?)\s+from\s+("[^"]+"|\w+)(?:\s*\.\s*("[^"]+"|\w+))?(?:\s.*)?$`)
	useRE    = regexp.MustCompile(`(?is)^use\s+("[^"]+"|\w+)$`)
	writeRE  = regexp.MustCompile(`(?is)^(?:insert\s+into|update|delete\s+.*?\bfrom|truncate(?:\s+table)?)\s+("[^"]+"|\w+)(?:\s*\.\s*("[^"]+"|\w+))?`)
	aliasRE  = regexp.MustCompile(`(?is)^(.+?)\s+as\s+("[^"]+"|\w+)$`)
)

// ident normalises a CQL identifier: unquoted ones are case-insensitive, quoted ones are not.
func ident(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return strings.ToLower(s)
}

func invalid(format string, args ...any) message.Message {
	return &message.Invalid{ErrorMessage: fmt.Sprintf(format, args...)}
}

// analyse understands just enough CQL for drivers and connectivity checks: SELECT (with a
// column list or *) from system tables, USE, and writes, which it refuses as Cassandra would
// refuse them on a table that does not exist.
func analyse(query, sessionKS string, peersV2 bool) *statement {
	q := strings.TrimSpace(query)
	q = strings.TrimSpace(strings.TrimSuffix(q, ";"))
	st := &statement{query: query, markers: countMarkers(q)}
	if m := useRE.FindStringSubmatch(q); m != nil {
		st.useKS = ident(m[1])
		return st
	}
	if m := writeRE.FindStringSubmatch(q); m != nil {
		ks, tbl, err := qualify(m[1], m[2], sessionKS)
		switch {
		case err != nil:
			st.err = err
		case ks == "system" || ks == "system_schema":
			st.err = &message.Unauthorized{ErrorMessage: fmt.Sprintf("%s keyspace is not user-modifiable.", ks)}
		default:
			st.err = invalid("unconfigured table %s", tbl)
		}
		return st
	}
	m := selectRE.FindStringSubmatch(q)
	if m == nil {
		st.err = &message.SyntaxError{ErrorMessage: "cqltest serves only SELECT from system tables, USE, and refuses writes; cannot run: " + firstWord(q)}
		return st
	}
	ks, tbl, err := qualify(m[2], m[3], sessionKS)
	if err != nil {
		st.err = err
		return st
	}
	st.keyspace, st.table = ks, tbl
	switch {
	case ks == "system" && tbl == "local":
		st.src = systemLocal
	case ks == "system" && tbl == "peers":
		st.src = systemPeers
	case ks == "system" && tbl == "peers_v2" && peersV2:
		st.src = systemPeersV2
	case ks == "system_schema":
		// Drivers read schema metadata at start; an empty schema is a valid answer, and one
		// that needs no per-table column lists.
	default:
		// Covers system.peers_v2, which Cassandra 3 lacks: gocql falls back to system.peers.
		st.err = invalid("unconfigured table %s", tbl)
		return st
	}
	st.cols, st.err = project(m[1], st)
	if st.err == nil {
		st.metaID = metadataID(st)
	}
	return st
}

func firstWord(q string) string {
	if f := strings.Fields(q); len(f) > 0 {
		return strings.ToUpper(f[0])
	}
	return "empty statement"
}

func qualify(a, b, sessionKS string) (ks, tbl string, err message.Message) {
	if b != "" {
		return ident(a), ident(b), nil
	}
	if sessionKS == "" {
		return "", "", invalid("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename")
	}
	return sessionKS, ident(a), nil
}

// project resolves a select list against the statement's table.
func project(list string, st *statement) ([]column, message.Message) {
	if strings.TrimSpace(list) == "*" {
		if st.src == nil {
			return nil, nil
		}
		return st.src.columns, nil
	}
	var cols []column
	for _, sel := range strings.Split(list, ",") {
		sel = strings.TrimSpace(sel)
		alias := ""
		if m := aliasRE.FindStringSubmatch(sel); m != nil {
			sel, alias = strings.TrimSpace(m[1]), ident(m[2])
		}
		if strings.ContainsAny(sel, "()*'") {
			return nil, invalid("cqltest supports only column names in a select list, not %q", sel)
		}
		name := ident(sel)
		var col column
		if st.src == nil {
			col = column{name: name, typ: datatype.Varchar, src: name}
		} else {
			found := false
			for _, c := range st.src.columns {
				if c.src == name {
					col, found = c, true
					break
				}
			}
			if !found {
				return nil, invalid("Undefined column name %s in table %s.%s", name, st.keyspace, st.table)
			}
		}
		if alias != "" {
			col.name = alias
		}
		cols = append(cols, col)
	}
	return cols, nil
}

// countMarkers counts positional bind markers outside string literals.
func countMarkers(q string) int {
	n, quoted := 0, false
	for _, r := range q {
		switch {
		case r == '\'':
			quoted = !quoted
		case r == '?' && !quoted:
			n++
		}
	}
	return n
}

func metadataID(st *statement) []byte {
	h := md5.New()
	for _, c := range st.cols {
		fmt.Fprintf(h, "%s:%v;", c.name, c.typ)
	}
	return h.Sum(nil)
}

func (st *statement) columnsMetadata() []*message.ColumnMetadata {
	md := make([]*message.ColumnMetadata, len(st.cols))
	for i, c := range st.cols {
		md[i] = &message.ColumnMetadata{Keyspace: st.keyspace, Table: st.table, Name: c.name, Index: int32(i), Type: c.typ}
	}
	return md
}

// rows runs a SELECT. skipMetadata mirrors the client's SKIP_METADATA flag on EXECUTE.
func (s *Server) rows(st *statement, v primitive.ProtocolVersion, c *conn, skipMetadata bool) message.Message {
	md := &message.RowsMetadata{ColumnCount: int32(len(st.cols))}
	if !skipMetadata {
		md.Columns = st.columnsMetadata()
	}
	data := message.RowSet{}
	if st.src != nil {
		local, _ := c.nc.LocalAddr().(*net.TCPAddr)
		if local == nil {
			local = s.addr
		}
		for _, r := range st.src.rows(s, local) {
			out := make(message.Row, len(st.cols))
			for i, c := range st.cols {
				val, ok := r[c.src]
				if !ok || val == nil {
					continue // null
				}
				codec, err := datacodec.NewCodec(c.typ)
				if err != nil {
					return &message.ServerError{ErrorMessage: fmt.Sprintf("cqltest: codec for %s: %v", c.name, err)}
				}
				if out[i], err = codec.Encode(val, v); err != nil {
					return &message.ServerError{ErrorMessage: fmt.Sprintf("cqltest: encode %s: %v", c.name, err)}
				}
			}
			data = append(data, out)
		}
	}
	return &message.RowsResult{Metadata: md, Data: data}
}

func (s *Server) runQuery(c *conn, q *message.Query, v primitive.ProtocolVersion) message.Message {
	st := analyse(q.Query, c.keyspace, s.peersV2())
	switch {
	case st.err != nil:
		return st.err
	case st.useKS != "":
		// Any keyspace exists: clients configured with a keyspace must be able to connect.
		c.keyspace = st.useKS
		return &message.SetKeyspaceResult{Keyspace: st.useKS}
	}
	skip := q.Options != nil && q.Options.SkipMetadata
	return s.rows(st, v, c, skip)
}

func (s *Server) prepare(c *conn, p *message.Prepare) message.Message {
	ks := c.keyspace
	if p.Keyspace != "" {
		ks = p.Keyspace // protocol v5 lets PREPARE name its keyspace
	}
	st := analyse(p.Query, ks, s.peersV2())
	if st.err != nil {
		return st.err // Cassandra validates at PREPARE time too
	}
	sum := md5.Sum([]byte(ks + "\x00" + p.Query))
	st.id = sum[:]
	if st.useKS != "" {
		st.metaID = metadataID(st)
	}
	s.mu.Lock()
	s.prepared[string(st.id)] = st
	s.mu.Unlock()

	vars := &message.VariablesMetadata{}
	for i := 0; i < st.markers; i++ {
		// The server cannot know what a marker binds to; text is what most drivers can send.
		vars.Columns = append(vars.Columns, &message.ColumnMetadata{
			Keyspace: st.keyspace, Table: st.table, Name: fmt.Sprintf("arg%d", i), Index: int32(i), Type: datatype.Varchar,
		})
	}
	if st.keyspace == "" && len(vars.Columns) > 0 {
		for _, c := range vars.Columns {
			c.Keyspace, c.Table = ks, "unknown"
		}
	}
	res := &message.PreparedResult{
		PreparedQueryId:   st.id,
		VariablesMetadata: vars,
		ResultMetadata:    &message.RowsMetadata{ColumnCount: int32(len(st.cols)), Columns: st.columnsMetadata()},
		// Protocol v5 clients send this id back with EXECUTE and cache metadata by it; the
		// library's own prepare handler leaves it out.
		ResultMetadataId: st.metaID,
	}
	if len(st.cols) == 0 {
		res.ResultMetadata.Columns = nil
	}
	return res
}

func (s *Server) execute(c *conn, e *message.Execute, v primitive.ProtocolVersion) message.Message {
	s.mu.Lock()
	st := s.prepared[string(e.QueryId)]
	s.mu.Unlock()
	if st == nil {
		return &message.Unprepared{
			ErrorMessage: fmt.Sprintf("Prepared query with ID %x not found", e.QueryId),
			Id:           e.QueryId,
		}
	}
	if st.useKS != "" {
		c.keyspace = st.useKS
		return &message.SetKeyspaceResult{Keyspace: st.useKS}
	}
	skip := e.Options != nil && e.Options.SkipMetadata
	return s.rows(st, v, c, skip)
}
