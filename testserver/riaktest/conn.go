package riaktest

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/golang/protobuf/proto"

	rpb "github.com/basho/riak-go-client/rpb/riak"

	"github.com/connfactory/connfactory/internal/riakpb"
)

// maxFrame bounds one request. Riak itself sets no limit; a test server should
// not allocate gigabytes because a test wrote garbage.
const maxFrame = 64 << 20

// authRetries is riak_api_pb_server's #state.retries: the third failed
// RpbAuthReq on a connection closes it.
const authRetries = 3

type connState int

const (
	stateWaitTLS connState = iota
	stateWaitAuth
	stateConnected
)

type session struct {
	s       *Server
	raw     net.Conn
	conn    net.Conn // raw, or the *tls.Conn after STARTTLS
	state   connState
	cn      string
	retries int
}

func (s *Server) serve(c net.Conn) {
	defer func() {
		_ = c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.wg.Done()
	}()
	if s.opts.Stall {
		<-s.done
		return
	}
	ss := &session{s: s, raw: c, conn: c, state: stateConnected, retries: authRetries}
	if s.opts.Security {
		ss.state = stateWaitTLS
	}
	for {
		code, body, err := ss.readFrame()
		if err != nil {
			return
		}
		if !ss.handle(code, body) {
			return
		}
	}
}

// readFrame reads one message without buffering past it (the bytes after an RpbStartTls
// frame belong to the TLS handshake). Riak stops the connection on a frame without a
// code byte ("Unexpected message format!").
func (ss *session) readFrame() (byte, []byte, error) {
	return riakpb.ReadFrame(ss.conn, maxFrame)
}

func (ss *session) writeFrame(code byte, body []byte) error {
	return riakpb.WriteFrame(ss.conn, code, body)
}

func (ss *session) writeMsg(code byte, m proto.Message) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return ss.writeError(fmt.Sprintf("Internal service error: %v", err))
	}
	return ss.writeFrame(code, b)
}

// writeError sends RpbErrorResp with errcode 0, as send_error does.
func (ss *session) writeError(msg string) error {
	var zero uint32
	b, err := proto.Marshal(&rpb.RpbErrorResp{Errmsg: []byte(msg), Errcode: &zero})
	if err != nil {
		return err
	}
	return ss.writeFrame(riakpb.ErrorResp, b)
}

// handle processes one request and reports whether the connection stays open.
func (ss *session) handle(code byte, body []byte) bool {
	switch ss.state {
	case stateWaitTLS:
		if code != riakpb.StartTLS {
			return ss.writeError(riakpb.MsgStartTLSFirst) == nil
		}
		return ss.startTLS()
	case stateWaitAuth:
		if code != riakpb.AuthReq {
			return ss.writeError(riakpb.MsgAuthenticateFirst) == nil
		}
		return ss.auth(body)
	default:
		return ss.dispatch(code, body)
	}
}

func (ss *session) startTLS() bool {
	// The acknowledgement is a bare code byte: <<1:32, 255:8>>.
	if err := ss.writeFrame(riakpb.StartTLS, nil); err != nil {
		return false
	}
	if ss.s.opts.StallAfterStartTls {
		<-ss.s.done
		return false
	}
	tc := tls.Server(ss.raw, ss.s.tlsConf)
	// Close closes the raw connection, which aborts a handshake in progress.
	if err := tc.Handshake(); err != nil {
		return false // Riak stops the connection on {startls_failed, Reason}
	}
	cs := tc.ConnectionState()
	// Only a verified chain yields a CN: Riak runs the handshake with
	// verify_peer, so an unverifiable certificate never reaches authentication.
	if len(cs.VerifiedChains) > 0 && len(cs.VerifiedChains[0]) > 0 {
		ss.cn = cs.VerifiedChains[0][0].Subject.CommonName
	}
	ss.conn = tc
	ss.state = stateWaitAuth
	return true
}

func (ss *session) auth(body []byte) bool {
	if raw := ss.s.opts.AuthReplyRaw; raw != nil {
		_, _ = ss.conn.Write(raw)
		return false
	}
	var req rpb.RpbAuthReq
	if err := proto.Unmarshal(body, &req); err != nil {
		// Riak's decoder would crash the connection process; say why, then close.
		_ = ss.writeError(fmt.Sprintf("Message decoding error: %v", err))
		return false
	}
	name := string(req.GetUser())
	u, known := ss.s.users[name]
	ok := known && ss.s.check(u, string(req.GetPassword()), ss.cn)
	ss.s.recordAuth(AuthEvent{User: name, Source: u.Source, CommonName: ss.cn, OK: ok})
	if ok {
		ss.state = stateConnected
		return ss.writeFrame(riakpb.AuthResp, nil) == nil
	}
	if !ss.s.wait(ss.s.opts.AuthFailureDelay) {
		return false
	}
	msg := riakpb.MsgAuthFailed
	if ss.s.opts.AuthFailureMessage != "" {
		msg = ss.s.opts.AuthFailureMessage
	}
	if err := ss.writeError(msg); err != nil {
		return false
	}
	if ss.retries <= 1 {
		return false
	}
	ss.retries--
	return true
}

// check applies riak_core_security:authenticate for a known user.
func (s *Server) check(u User, password, cn string) bool {
	switch u.Source {
	case SourceTrust:
		return true
	case SourcePassword:
		return u.Password != "" && password == u.Password
	case SourcePAM:
		want, ok := s.opts.PAM[u.Name]
		return ok && password == want
	case SourceCertificate:
		return cn != "" && cn == u.Name
	}
	return false
}

func (ss *session) dispatch(code byte, body []byte) bool {
	var err error
	switch code {
	case riakpb.PingReq:
		err = ss.writeFrame(riakpb.PingResp, nil)
	case riakpb.GetServerInfoReq:
		err = ss.writeMsg(riakpb.GetServerInfoResp, &rpb.RpbGetServerInfoResp{
			Node:          []byte(ss.s.opts.Node),
			ServerVersion: []byte(ss.s.opts.ServerVersion),
		})
	case riakpb.GetReq:
		err = ss.get(body)
	case riakpb.PutReq:
		err = ss.put(body)
	case riakpb.DelReq:
		err = ss.del(body)
	case riakpb.StartTLS:
		// Also after authentication with security on: no service registers
		// code 255, so riak_api_pb_server gives this same answer.
		err = ss.writeError(riakpb.MsgSecurityOff)
	default:
		err = ss.writeError("Unknown message code: " + itoa(int(code)))
	}
	return err == nil
}
