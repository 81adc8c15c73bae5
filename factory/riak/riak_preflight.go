package riak

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	rpb "github.com/basho/riak-go-client/rpb/riak"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/riakpb"
	"github.com/connfactory/connfactory/schema"
)

// The preflight is the factory's own Riak handshake: TCP, RpbStartTls, TLS, RpbAuthReq,
// RpbPingReq, each step bounded by the caller's context and connect_timeout, each failure
// classified. It exists because riak-go-client, handed a node it cannot reach or
// authenticate to, returns nil from Cluster.Start and then spins forever in the first
// Execute (and keeps spinning after Stop). Dial starts a cluster only on hosts that
// passed it.

// riakAuthVerdictWait is how long the Riak preflight waits for the answer to its
// RpbAuthReq even when connect_timeout is shorter (never beyond the caller's context).
// Riak answers refused credentials only after sleeping 5 s (riak_api_pb_server), so a
// shorter wait would turn "wrong password" (auth_failed) into "timeout".
const riakAuthVerdictWait = 5500 * time.Millisecond

// riakAuthHintDelay says why a timeout during authentication often means wrong
// credentials (the caller's deadline cut the wait for Riak's verdict short).
const riakAuthHintDelay = "Riak delays its answer to a failed authentication (5 s), so a timeout here often means refused credentials: allow the check more time (--timeout) to see the server's verdict"

// riakLongAgo is a deadline in the past: setting it aborts blocked reads and writes.
var riakLongAgo = time.Unix(1, 0)

// riakPreflight is one run of the preflight against one host.
type riakPreflight struct {
	c    *Connector
	host string
	rep  *factory.Report
	info bool // also ask RpbGetServerInfoReq (Check)
	// budget describes the bound in force, for timeout messages.
	budget string
	// outer is the caller's context, without connect_timeout: the wait for Riak's verdict
	// on credentials may outlast connect_timeout, never the caller's deadline.
	outer context.Context
}

// preflight runs the handshake against host and returns the authenticated connection
// with its deadlines cleared, ready for PB traffic. rep (never nil) records how far it
// got. With info, it also asks for the server's node name and version.
func (c *Connector) preflight(ctx context.Context, host string, rep *factory.Report, info bool) (net.Conn, error) {
	p := &riakPreflight{c: c, host: host, rep: rep, info: info, outer: ctx,
		budget: "connect_timeout " + c.base.ConnectTimeout().String()}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < c.base.ConnectTimeout() {
		p.budget = "the caller's deadline"
	}
	ctx, cancel := context.WithTimeout(ctx, c.base.ConnectTimeout())
	defer cancel()
	return p.run(ctx)
}

func (p *riakPreflight) run(ctx context.Context) (net.Conn, error) {
	rep := p.rep
	rep.Server.Address = p.host
	rep.Auth.Mechanism = string(p.c.mechanism)
	rep.Auth.Username = p.c.username
	rep.Auth.Result = "not attempted"
	if p.c.TLS() != nil {
		rep.TLS.Mode = string(p.c.TLS().Mode())
		rep.TLS.ServerName = p.c.TLS().ServerName(p.host)
	}

	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", p.host)
	if err != nil {
		return nil, p.fail(ctx, "connect", factory.KindUnreachable, err)
	}
	ok := false
	var conn net.Conn = raw
	defer func() {
		if !ok {
			_ = conn.Close()
		}
	}()
	// One deadline for the whole handshake: the context's. AfterFunc also aborts blocked
	// I/O when the caller cancels before the deadline.
	if dl, has := ctx.Deadline(); has {
		_ = raw.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(riakLongAgo) })
	defer func() { stop() }()

	if p.c.mechanism == schema.MechanismNone {
		rep.Auth.Result = "none"
	} else {
		if err := riakRoundTrip(raw, riakpb.StartTLS, nil, riakpb.StartTLS, nil); err != nil {
			return nil, p.fail(ctx, "RpbStartTls", factory.KindProtocol, err)
		}
		// riak-go-client's pool dials the same host:port with a Config keyed alike
		// (nodeOptions), so it resumes this handshake's session.
		tc, release, err := p.c.base.Handshake(ctx, raw, p.host, p.host)
		defer release() // the answers read below carry a TLS 1.3 session ticket first
		if err != nil {
			return nil, p.fail(ctx, "TLS handshake", factory.KindTLSHandshake, err)
		}
		conn = tc
		p.c.base.FillTLS(rep, tc.ConnectionState())
		if cc := p.c.TLS().ClientCertificate(); cc != nil {
			ci := p.c.base.CertInfo(cc)
			rep.TLS.ClientCert = &ci
		}
		// Riak answers refused credentials only after a delay (5 s): wait for that verdict,
		// within the caller's own bound, rather than report a timeout that hides it.
		if dl, _ := ctx.Deadline(); time.Until(dl) < p.c.authWait {
			stop()
			ext, cancel := context.WithTimeout(p.outer, p.c.authWait)
			defer cancel()
			ctx = ext
			dl, _ = ctx.Deadline()
			_ = raw.SetDeadline(dl)
			stop = context.AfterFunc(ctx, func() { _ = raw.SetDeadline(riakLongAgo) })
		}
		req := &rpb.RpbAuthReq{User: []byte(p.c.username), Password: []byte(p.c.secret().Reveal())}
		if req.Password == nil {
			req.Password = []byte{} // a required proto2 field: empty, never absent
		}
		if err := riakRoundTrip(conn, riakpb.AuthReq, req, riakpb.AuthResp, nil); err != nil {
			rep.Auth.Result = "failed"
			return nil, p.fail(ctx, "RpbAuthReq", factory.KindAuthFailed, err)
		}
		rep.Auth.Result = "ok"
	}

	if err := riakRoundTrip(conn, riakpb.PingReq, nil, riakpb.PingResp, nil); err != nil {
		return nil, p.fail(ctx, "RpbPingReq", factory.KindProtocol, err)
	}
	if p.info {
		var si rpb.RpbGetServerInfoResp
		err := riakRoundTrip(conn, riakpb.GetServerInfoReq, nil, riakpb.GetServerInfoResp, &si)
		var se *riakServerError
		switch {
		case errors.As(err, &se):
			// Permission to ask is the server's business; the connection works.
			rep.Warnings = append(rep.Warnings, "riak: RpbGetServerInfoReq refused: "+se.Message)
		case err != nil:
			return nil, p.fail(ctx, "RpbGetServerInfoReq", factory.KindProtocol, err)
		default:
			rep.Server.Node = string(si.GetNode())
			rep.Server.Version = string(si.GetServerVersion())
		}
	}

	// The connection outlives the preflight: disarm the context's hold on it. When stop
	// reports the abort already ran, the context ended at the finish line and the
	// deadline may be in the past, so the connection is not handed out.
	if !stop() {
		return nil, p.fail(ctx, "RpbPingReq", factory.KindTimeout, ctx.Err())
	}
	if err := raw.SetDeadline(time.Time{}); err != nil {
		return nil, p.fail(ctx, "clear deadline", factory.KindProtocol, err)
	}
	ok = true
	return conn, nil
}

// fail classifies err, raised at stage, as an *Error for the host. fallback is the kind
// when nothing more specific is known.
func (p *riakPreflight) fail(ctx context.Context, stage string, fallback factory.Kind, err error) error {
	var fe *factory.Error
	if errors.As(err, &fe) {
		// Already classified (the TLS layer). A failure caused by our deadline is a
		// timeout whatever it looked like, and gets the stage's explanation.
		if ctx.Err() == nil && fe.Kind != factory.KindTimeout {
			return err
		}
		err = fe.Err
	}
	if ctx.Err() != nil || p.c.base.ClassifyNet(err, "") == factory.KindTimeout || (fe != nil && fe.Kind == factory.KindTimeout) {
		msg := fmt.Sprintf("riak %s: no answer within %s", stage, p.budget)
		if errors.Is(ctx.Err(), context.Canceled) {
			msg = fmt.Sprintf("riak %s: cancelled by the caller", stage)
		}
		switch stage {
		case "RpbAuthReq":
			msg += " (" + riakAuthHintDelay + ")"
		case "TLS handshake":
			msg += " (the server acknowledged STARTTLS but did not complete the TLS handshake)"
		case "RpbStartTls", "RpbPingReq":
			if p.rep.TLS.Version == "" {
				msg += " (the port accepts TCP but does not answer Riak Protocol Buffers)"
			}
		}
		return &factory.Error{Kind: factory.KindTimeout, Host: p.host, Err: fmt.Errorf("%s: %w", msg, err)}
	}
	if k := p.c.base.ClassifyNet(err, ""); k == factory.KindUnreachable {
		return &factory.Error{Kind: k, Host: p.host, Err: fmt.Errorf("riak %s: %w", stage, err)}
	}
	if stage == "connect" {
		// DNS failures and the like: the host cannot be reached as written.
		return &factory.Error{Kind: factory.KindUnreachable, Host: p.host, Err: fmt.Errorf("riak connect: %w", err)}
	}
	if isTLSAlert(err) {
		// A TLS alert after the handshake: the server refused our certificate (TLS 1.3
		// reports it at the first read, here the RpbAuthReq step).
		return p.c.base.ClassifyTLSError(fmt.Errorf("riak %s: the server ended TLS with an alert after the handshake (under TLS 1.3 a refused client certificate shows here): %w", stage, err), p.host)
	}

	var se *riakServerError
	if errors.As(err, &se) {
		return p.serverError(stage, se)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		if stage == "RpbAuthReq" {
			return &factory.Error{Kind: factory.KindAuthFailed, Host: p.host, Err: fmt.Errorf("riak %s: the server closed the connection instead of answering (it does so after repeated authentication failures): %w", stage, err)}
		}
		return &factory.Error{Kind: factory.KindProtocol, Host: p.host, Err: fmt.Errorf("riak %s: the server closed the connection (is this a Riak Protocol Buffers port?): %w", stage, err)}
	}
	if errors.Is(err, riakpb.ErrFrame) {
		return &factory.Error{Kind: factory.KindProtocol, Host: p.host, Err: fmt.Errorf("riak %s: %w (is this a Riak Protocol Buffers port?)", stage, err)}
	}
	return &factory.Error{Kind: fallback, Host: p.host, Err: fmt.Errorf("riak %s: %w", stage, err)}
}

// serverError turns an RpbErrorResp into a kind, with advice where Riak's text is terse.
func (p *riakPreflight) serverError(stage string, se *riakServerError) error {
	c := p.c
	switch {
	case se.Message == riakpb.MsgSecurityOff:
		return &factory.Error{Kind: factory.KindProtocol, Host: p.host, Err: fmt.Errorf(
			"riak %s: the server said %q: its security is off (riak-admin security status), so it takes neither TLS nor authentication; "+
				"enable security on the server (riak-admin security enable), or connect in plaintext with auth.mechanism = \"none\" and no [tls]: %w",
			stage, se.Message, se)}
	case se.Message == riakpb.MsgStartTLSFirst || se.Message == riakpb.MsgAuthenticateFirst:
		return &factory.Error{Kind: factory.KindAuthRequired, Host: p.host, Err: fmt.Errorf(
			"riak %s: the server said %q: it has security enabled and serves only authenticated TLS clients; "+
				"set auth.mechanism (trust, password, pam or certificate), auth.username and [tls]: %w", stage, se.Message, se)}
	case se.Message == riakpb.MsgAuthFailed || stage == "RpbAuthReq":
		return &factory.Error{Kind: factory.KindAuthFailed, Host: p.host, Err: fmt.Errorf(
			"riak %s: the server refused user %q with mechanism %s: %s: %w", stage, c.username, c.mechanism, c.authHint(), se)}
	}
	return &factory.Error{Kind: factory.KindProtocol, Host: p.host, Err: fmt.Errorf("riak %s: %w", stage, se)}
}

// authHint says what to look at when the server refused the credentials.
func (c *Connector) authHint() string {
	switch c.mechanism {
	case schema.MechanismTrust:
		return "the server has no trust source for this user from this address (riak-admin security add-source)"
	case schema.MechanismPassword:
		return "check auth.password, and that the server's source for this user is password"
	case schema.MechanismPAM:
		return "check auth.password, and that the server's source for this user is pam"
	case schema.MechanismCertificate:
		if cert := c.TLS().ClientCertificate(); cert != nil && cert.Subject.CommonName != c.username {
			return fmt.Sprintf("the client certificate's CN %q is not the username %q (Riak accepts a certificate only for the user its CN names)",
				cert.Subject.CommonName, c.username)
		}
		return "the server must have a certificate source for this user and trust the issuer of the client certificate"
	}
	return "check the credentials"
}

// isTLSAlert reports whether err is a TLS alert sent by the peer. crypto/tls returns an
// alert read on a TCP connection as a *net.OpError with Op "remote error" (its alert
// type is unexported; tls.AlertError is what QUIC connections return).
func isTLSAlert(err error) bool {
	var (
		alert tls.AlertError
		oe    *net.OpError
	)
	return errors.As(err, &alert) || (errors.As(err, &oe) && oe.Op == "remote error")
}
