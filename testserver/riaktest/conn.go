package riaktest

import (
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"

	"github.com/golang/protobuf/proto"

	rpb "github.com/basho/riak-go-client/rpb/riak"
)

// Riak PB message codes (riak_pb's riak_pb_messages.csv).
const (
	codeErrorResp         byte = 0
	codePingReq           byte = 1
	codePingResp          byte = 2
	codeGetServerInfoReq  byte = 7
	codeGetServerInfoResp byte = 8
	codeGetReq            byte = 9
	codeGetResp           byte = 10
	codePutReq            byte = 11
	codePutResp           byte = 12
	codeDelReq            byte = 13
	codeDelResp           byte = 14
	codeAuthReq           byte = 253
	codeAuthResp          byte = 254
	codeStartTLS          byte = 255
)

// Error texts, verbatim from riak_api_pb_server.
const (
	msgStartTLSFirst     = "Security is enabled, please STARTTLS first"
	msgAuthenticateFirst = "Security is enabled, please authenticate first"
	msgAuthFailed        = "Authentication failed"
	msgSecurityOff       = "Security not enabled; STARTTLS not allowed."
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

// readFrame reads one message without buffering past it: the bytes after an
// RpbStartTls frame belong to the TLS handshake.
func (ss *session) readFrame() (byte, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(ss.conn, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > maxFrame {
		// Riak stops the connection on a frame without a code byte ("Unexpected
		// message format!").
		return 0, nil, fmt.Errorf("riaktest: bad frame length %d", n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(ss.conn, buf); err != nil {
		return 0, nil, err
	}
	return buf[0], buf[1:], nil
}

func (ss *session) writeFrame(code byte, body []byte) error {
	buf := make([]byte, 5+len(body))
	binary.BigEndian.PutUint32(buf, uint32(1+len(body)))
	buf[4] = code
	copy(buf[5:], body)
	_, err := ss.conn.Write(buf)
	return err
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
	return ss.writeFrame(codeErrorResp, b)
}

// handle processes one request and reports whether the connection stays open.
func (ss *session) handle(code byte, body []byte) bool {
	switch ss.state {
	case stateWaitTLS:
		if code != codeStartTLS {
			return ss.writeError(msgStartTLSFirst) == nil
		}
		return ss.startTLS()
	case stateWaitAuth:
		if code != codeAuthReq {
			return ss.writeError(msgAuthenticateFirst) == nil
		}
		return ss.auth(body)
	default:
		return ss.dispatch(code, body)
	}
}

func (ss *session) startTLS() bool {
	// The acknowledgement is a bare code byte: <<1:32, 255:8>>.
	if err := ss.writeFrame(codeStartTLS, nil); err != nil {
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
		return ss.writeFrame(codeAuthResp, nil) == nil
	}
	if !ss.s.wait(ss.s.opts.AuthFailureDelay) {
		return false
	}
	if err := ss.writeError(msgAuthFailed); err != nil {
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
	case codePingReq:
		err = ss.writeFrame(codePingResp, nil)
	case codeGetServerInfoReq:
		err = ss.writeMsg(codeGetServerInfoResp, &rpb.RpbGetServerInfoResp{
			Node:          []byte(ss.s.opts.Node),
			ServerVersion: []byte(ss.s.opts.ServerVersion),
		})
	case codeGetReq:
		err = ss.get(body)
	case codePutReq:
		err = ss.put(body)
	case codeDelReq:
		err = ss.del(body)
	case codeStartTLS:
		// Also after authentication with security on: no service registers
		// code 255, so riak_api_pb_server gives this same answer.
		err = ss.writeError(msgSecurityOff)
	default:
		err = ss.writeError("Unknown message code: " + itoa(int(code)))
	}
	return err == nil
}
