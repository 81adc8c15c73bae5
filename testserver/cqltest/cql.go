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

// Fixed ids: a one-node test cluster has one host and one schema version, and stable values
// make results reproducible.
var (
	hostID        = primitive.UUID{0xc0, 0xd1, 0xd2, 0x1e, 0xbb, 0x01, 0x41, 0x96, 0x86, 0xdb, 0xbc, 0x31, 0x7b, 0xc1, 0x79, 0x6a}
	schemaVersion = primitive.UUID{0x5a, 0x1c, 0x39, 0x5e, 0xb4, 0x1f, 0x35, 0x4a, 0x9e, 0x2c, 0x2b, 0x4e, 0x0c, 0x7d, 0x5d, 0x11}
)

// column describes a table column and how to compute its value for the connection asking.
type column struct {
	name  string
	typ   datatype.DataType
	value func(s *Server, local *net.TCPAddr) any
}

// table is a system table the server serves. hasRow is false for tables that exist but are
// empty on a one-node cluster (system.peers).
type table struct {
	keyspace, name string
	columns        []column
	hasRow         bool
}

func addrValue(s *Server, local *net.TCPAddr) any { return local.IP }

// systemLocal has the columns of Cassandra 4.1's system.local that drivers read (truncated_at
// is left out: no driver reads it).
var systemLocal = &table{keyspace: "system", name: "local", hasRow: true, columns: []column{
	{"key", datatype.Varchar, func(*Server, *net.TCPAddr) any { return "local" }},
	{"bootstrapped", datatype.Varchar, func(*Server, *net.TCPAddr) any { return "COMPLETED" }},
	{"broadcast_address", datatype.Inet, addrValue},
	{"broadcast_port", datatype.Int, func(*Server, *net.TCPAddr) any { return int32(7000) }},
	{"cluster_name", datatype.Varchar, func(*Server, *net.TCPAddr) any { return DefaultClusterName }},
	{"cql_version", datatype.Varchar, func(*Server, *net.TCPAddr) any { return cqlVersion }},
	{"data_center", datatype.Varchar, func(s *Server, _ *net.TCPAddr) any { return s.opts.Datacenter }},
	{"gossip_generation", datatype.Int, func(*Server, *net.TCPAddr) any { return int32(1) }},
	{"host_id", datatype.Uuid, func(*Server, *net.TCPAddr) any { return hostID }},
	{"listen_address", datatype.Inet, addrValue},
	{"listen_port", datatype.Int, func(*Server, *net.TCPAddr) any { return int32(7000) }},
	{"native_protocol_version", datatype.Varchar, func(s *Server, _ *net.TCPAddr) any { return s.maxVersionString() }},
	{"partitioner", datatype.Varchar, func(*Server, *net.TCPAddr) any { return "org.apache.cassandra.dht.Murmur3Partitioner" }},
	{"rack", datatype.Varchar, func(*Server, *net.TCPAddr) any { return "rack1" }},
	{"release_version", datatype.Varchar, func(s *Server, _ *net.TCPAddr) any { return s.opts.ReleaseVersion }},
	{"rpc_address", datatype.Inet, addrValue},
	{"rpc_port", datatype.Int, func(s *Server, _ *net.TCPAddr) any { return int32(s.Port()) }},
	{"schema_version", datatype.Uuid, func(*Server, *net.TCPAddr) any { return schemaVersion }},
	{"tokens", datatype.NewSet(datatype.Varchar), func(*Server, *net.TCPAddr) any { return []string{"0"} }},
}}

// systemPeers is empty (a one-node cluster) but must carry its column metadata: gocql fails a
// rows result without metadata ("did not receive metadata but prepared info is nil").
var systemPeers = &table{keyspace: "system", name: "peers", columns: []column{
	{"peer", datatype.Inet, nil},
	{"data_center", datatype.Varchar, nil},
	{"host_id", datatype.Uuid, nil},
	{"preferred_ip", datatype.Inet, nil},
	{"rack", datatype.Varchar, nil},
	{"release_version", datatype.Varchar, nil},
	{"rpc_address", datatype.Inet, nil},
	{"schema_version", datatype.Uuid, nil},
	{"tokens", datatype.NewSet(datatype.Varchar), nil},
}}

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
func analyse(query, sessionKS string) *statement {
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
			col = column{name: name, typ: datatype.Varchar}
		} else {
			found := false
			for _, c := range st.src.columns {
				if c.name == name {
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
	if st.src != nil && st.src.hasRow {
		local, _ := c.nc.LocalAddr().(*net.TCPAddr)
		if local == nil {
			local = s.addr
		}
		row := make(message.Row, len(st.cols))
		for i, c := range st.cols {
			codec, err := datacodec.NewCodec(c.typ)
			if err != nil {
				return &message.ServerError{ErrorMessage: fmt.Sprintf("cqltest: codec for %s: %v", c.name, err)}
			}
			if row[i], err = codec.Encode(c.value(s, local), v); err != nil {
				return &message.ServerError{ErrorMessage: fmt.Sprintf("cqltest: encode %s: %v", c.name, err)}
			}
		}
		data = append(data, row)
	}
	return &message.RowsResult{Metadata: md, Data: data}
}

func (s *Server) runQuery(c *conn, q *message.Query, v primitive.ProtocolVersion) message.Message {
	st := analyse(q.Query, c.keyspace)
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
	st := analyse(p.Query, ks)
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
