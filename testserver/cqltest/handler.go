package cqltest

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/datastax/go-cassandra-native-protocol/frame"
	"github.com/datastax/go-cassandra-native-protocol/message"
	"github.com/datastax/go-cassandra-native-protocol/primitive"
)

// handle answers one decoded request in a version the server accepts.
func (s *Server) handle(c *conn, req *frame.Frame) message.Message {
	s.stats.count(c, req.Body.Message)
	op := opName(req.Header.OpCode)
	switch msg := req.Body.Message.(type) {
	case *message.Options:
		return &message.Supported{Options: map[string][]string{
			message.StartupOptionCqlVersion: {cqlVersion},
			// No compression is offered: clients then fall back to uncompressed frames.
			message.StartupOptionCompression:  {},
			message.SupportedProtocolVersions: s.versionNames(),
		}}
	case *message.Startup:
		if c.phase != phaseNew {
			return &message.ProtocolError{ErrorMessage: "Unexpected message STARTUP, the connection is already initialized"}
		}
		if comp := msg.GetCompression(); comp != primitive.CompressionNone {
			return &message.ProtocolError{ErrorMessage: fmt.Sprintf("Unknown compression algorithm: %s", comp)}
		}
		if len(s.opts.Credentials) == 0 {
			c.phase = phaseReady
			return &message.Ready{}
		}
		c.phase = phaseAuth
		return &message.Authenticate{Authenticator: s.opts.Authenticator}
	case *message.AuthResponse:
		if c.phase != phaseAuth {
			return &message.ProtocolError{ErrorMessage: "Unexpected message AUTH_RESPONSE, expecting STARTUP or OPTIONS"}
		}
		return s.authenticate(c, msg.Token)
	}

	switch c.phase {
	case phaseNew:
		return &message.ProtocolError{ErrorMessage: fmt.Sprintf("Unexpected message %s, expecting STARTUP or OPTIONS", op)}
	case phaseAuth:
		return &message.ProtocolError{ErrorMessage: fmt.Sprintf("Unexpected message %s, expecting SASL_RESPONSE", op)}
	}

	v := req.Header.Version
	switch msg := req.Body.Message.(type) {
	case *message.Register:
		// Events are accepted but never sent: the topology of a one-node test cluster never changes.
		return &message.Ready{}
	case *message.Query:
		return s.runQuery(c, msg, v)
	case *message.Prepare:
		return s.prepare(c, msg)
	case *message.Execute:
		return s.execute(c, msg, v)
	case *message.Batch:
		return &message.Invalid{ErrorMessage: "cqltest serves only SELECT from system tables; BATCH is not supported"}
	default:
		return &message.ProtocolError{ErrorMessage: fmt.Sprintf("Unexpected message %s", op)}
	}
}

// authenticate checks a SASL PLAIN token (authzid NUL authcid NUL password) the way Cassandra's
// PasswordAuthenticator does, including its error wording, which clients classify by.
func (s *Server) authenticate(c *conn, token []byte) message.Message {
	if string(token) == "PLAIN" {
		// DSE-style negotiation: the client names the mechanism first and waits for this challenge.
		return &message.AuthChallenge{Token: []byte("PLAIN-START")}
	}
	parts := bytes.SplitN(token, []byte{0}, 3)
	if len(parts) != 3 || len(parts[1]) == 0 {
		return &message.AuthenticationError{ErrorMessage: "Authentication ID must not be null"}
	}
	if len(parts[2]) == 0 {
		return &message.AuthenticationError{ErrorMessage: "Password must not be null"}
	}
	authz, user, pass := string(parts[0]), string(parts[1]), parts[2]
	want, ok := s.opts.Credentials[user]
	if !ok || subtle.ConstantTimeCompare([]byte(want), pass) != 1 {
		if s.opts.AuthFailureMessage != "" {
			return &message.AuthenticationError{ErrorMessage: s.opts.AuthFailureMessage}
		}
		return &message.AuthenticationError{ErrorMessage: fmt.Sprintf(
			"Provided username %s and/or password are incorrect", user)}
	}
	c.phase = phaseReady
	s.mu.Lock()
	s.lastUser, s.lastAuthz = user, authz
	s.mu.Unlock()
	return &message.AuthSuccess{}
}

// versionError is Cassandra's answer to a request in a protocol version it does not speak.
func (s *Server) versionError(v primitive.ProtocolVersion) message.Message {
	return &message.ProtocolError{ErrorMessage: fmt.Sprintf(
		"Invalid or unsupported protocol version (%d); supported versions are (%s)", v, strings.Join(s.versionNames(), ", "))}
}

func (s *Server) sortedVersions() []primitive.ProtocolVersion {
	vs := make([]primitive.ProtocolVersion, 0, len(s.versions))
	for v := range s.versions {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	return vs
}

// versionNames lists the versions as Cassandra's SUPPORTED message does: "3/v3".
func (s *Server) versionNames() []string {
	var names []string
	for _, v := range s.sortedVersions() {
		names = append(names, fmt.Sprintf("%d/v%d", v, v))
	}
	return names
}

func (s *Server) maxVersion() primitive.ProtocolVersion {
	vs := s.sortedVersions()
	return vs[len(vs)-1]
}

func (s *Server) maxVersionString() string { return strconv.Itoa(int(s.maxVersion())) }

// opName turns the library's "OpCode QUERY [0x07]" into Cassandra's "QUERY".
func opName(op primitive.OpCode) string {
	f := strings.Fields(op.String())
	if len(f) >= 2 {
		return f[1]
	}
	return op.String()
}
