package cassandra

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/schema"
)

// cassAuth is a compiled Cassandra auth section.
type cassAuth struct {
	mech    schema.Mechanism
	user    string
	pass    schema.Secret
	authzID string
	allowed []string
	perHost []hostCreds
}

// hostCreds are the credentials of one auth.per_host entry.
type hostCreds struct {
	host string // without port, lowercase
	user string
	pass schema.Secret
}

// compileCassandraAuth checks and compiles an auth section; a nil section is mechanism
// none. secret gives a secret source's value by its path relative to the profile
// (factory.Base.Secret).
func compileCassandraAuth(path string, a *schema.Auth, tlsOn bool, secret func(string, *schema.SecretSource) schema.Secret) (*cassAuth, []schema.Problem, []factory.Warning) {
	ca := &cassAuth{mech: a.EffectiveMechanism()}
	if a == nil {
		return ca, nil, nil
	}
	var ps []schema.Problem
	var ws []factory.Warning
	switch ca.mech {
	case schema.MechanismNone:
		// validate's warnings (added to every connector's) say that the credentials
		// given are not used.
		return ca, nil, ws
	case schema.MechanismPassword, schema.MechanismSASLPlain:
	default:
		return ca, []schema.Problem{{Path: path + ".mechanism", Message: fmt.Sprintf(
			"mechanism %q is not available for cassandra (accepted: %s)", a.Mechanism,
			schema.Accepted(schema.MechanismsFor(schema.Cassandra)))}}, nil
	}
	ca.user, ca.pass, ca.authzID = a.Username, secret("auth.password", a.Password), a.AuthorizationID
	if a.Username == "" && len(a.PerHost) == 0 {
		ps = append(ps, schema.Problem{Path: path + ".username", Message: fmt.Sprintf(
			"username is required for mechanism %s (or per_host entries for every host)", ca.mech)})
	}
	if a.Username != "" && a.Password == nil {
		ps = append(ps, schema.Problem{Path: path + ".password", Message: fmt.Sprintf(
			"password is required for mechanism %s", ca.mech)})
	}
	if a.AuthorizationID != "" && ca.mech != schema.MechanismSASLPlain {
		ws = append(ws, factory.Warning{Path: path + ".authorization_id",
			Message: "ignored: only mechanism sasl_plain sends an authorization id"})
	}
	ca.allowed = []string{schema.DefaultPasswordAuthenticator}
	if len(a.AllowedAuthenticators) > 0 {
		ca.allowed = nil
		for i, cls := range a.AllowedAuthenticators {
			cls = strings.TrimSpace(cls)
			if cls == "" {
				ps = append(ps, schema.Problem{Path: fmt.Sprintf("%s.allowed_authenticators[%d]", path, i),
					Message: "empty authenticator class name"})
				continue
			}
			ca.allowed = append(ca.allowed, cls)
		}
	}
	for i, h := range a.PerHost {
		p := fmt.Sprintf("%s.per_host[%d]", path, i)
		host := strings.TrimSpace(h.Host)
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		host = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
		if host == "" {
			ps = append(ps, schema.Problem{Path: p + ".host", Message: "host is required"})
		}
		if h.Username == "" {
			ps = append(ps, schema.Problem{Path: p + ".username", Message: "username is required"})
		}
		if h.Password == nil {
			ps = append(ps, schema.Problem{Path: p + ".password", Message: "password is required"})
		}
		ca.perHost = append(ca.perHost, hostCreds{host: host, user: h.Username, pass: secret(fmt.Sprintf("auth.per_host[%d].password", i), h.Password)})
	}
	// Credentials over plaintext: validate's warnings, added to every connector's.
	return ca, ps, ws
}

// credsFor picks the credentials for a host known by its configured host:port and its IP:
// the first per_host entry naming either, else the profile's username and password.
func (a *cassAuth) credsFor(hostport, ip string) (string, schema.Secret) {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	ip = strings.ToLower(ip)
	for _, h := range a.perHost {
		if h.host == host || h.host == ip {
			return h.user, h.pass
		}
	}
	return a.user, a.pass
}

// authProvider builds gocql's per-connection authenticator factory; per-connection so that
// per_host credentials follow the host, and so the authenticator can tell the attempt what
// happened.
func (c *Connector) authProvider(att *attempt) func(h *gocql.HostInfo) (gocql.Authenticator, error) {
	return func(h *gocql.HostInfo) (gocql.Authenticator, error) {
		name := c.names.cached(h.ConnectAddressAndPort())
		user, pass := c.auth.Get().credsFor(name, h.ConnectAddress().String())
		a := att // gocql calls this from concurrent pool goroutines: never write att
		if !a.active() {
			a = nil
		}
		return &cqlAuthenticator{auth: c.auth.Get(), user: user, pass: pass, host: name, att: a}, nil
	}
}

// DSE's authenticator negotiates the SASL mechanism first: the client names it, the server
// answers with this challenge, then the client sends its token.
const (
	dseAuthenticatorSuffix = "DseAuthenticator"
	dsePlainStart          = "PLAIN-START"
)

// cqlAuthenticator answers one connection's AUTHENTICATE. It refuses authenticator classes
// outside auth.allowed_authenticators before sending anything, so credentials never reach
// a server-side authenticator the profile did not expect.
type cqlAuthenticator struct {
	auth *cassAuth
	user string
	pass schema.Secret
	host string
	att  *attempt // nil outside Dial and Check

	mu   sync.Mutex
	step int // 0: nothing sent; 1: DSE mechanism name sent; 2: token sent
}

// Challenge answers the server's AUTHENTICATE (req is its authenticator class) and any
// AUTH_CHALLENGE that follows.
func (a *cqlAuthenticator) Challenge(req []byte) ([]byte, gocql.Authenticator, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch a.step {
	case 0:
		return a.start(string(req))
	case 1:
		if string(req) == dsePlainStart {
			a.step = 2
			return a.plainToken(), a, nil
		}
	}
	return nil, nil, a.refuse(factory.KindAuthFailed, fmt.Errorf(
		"cassandra: unexpected authentication challenge from the server (%d bytes)", len(req)))
}

func (a *cqlAuthenticator) start(class string) ([]byte, gocql.Authenticator, error) {
	a.att.noteChallenge(class, a.user)
	if a.auth.mech == schema.MechanismNone {
		return nil, nil, a.refuse(factory.KindAuthRequired, fmt.Errorf(
			"cassandra: the server requires authentication (authenticator %s) and the profile has auth.mechanism none", class))
	}
	if !slices.Contains(a.auth.allowed, class) {
		return nil, nil, a.refuse(factory.KindAuthFailed, fmt.Errorf(
			"cassandra: the server's authenticator %s is not in auth.allowed_authenticators (%s): credentials not sent",
			class, strings.Join(a.auth.allowed, ", ")))
	}
	if a.user == "" {
		return nil, nil, a.refuse(factory.KindAuthRequired, fmt.Errorf(
			"cassandra: no credentials for this host: auth.username is empty and no auth.per_host entry names it"))
	}
	if a.auth.mech == schema.MechanismPassword {
		// gocql's own authenticator builds the token; the allowed list was checked above.
		pa := gocql.PasswordAuthenticator{Username: a.user, Password: a.pass.Reveal()}
		resp, _, err := pa.Challenge([]byte(class))
		a.step = 2
		return resp, a, err
	}
	if strings.HasSuffix(class, dseAuthenticatorSuffix) {
		a.step = 1
		return []byte("PLAIN"), a, nil
	}
	a.step = 2
	return a.plainToken(), a, nil
}

// plainToken is the SASL PLAIN message: authzid NUL authcid NUL password.
func (a *cqlAuthenticator) plainToken() []byte {
	tok := make([]byte, 0, len(a.auth.authzID)+len(a.user)+len(a.pass)+2)
	tok = append(tok, a.auth.authzID...)
	tok = append(tok, 0)
	tok = append(tok, a.user...)
	tok = append(tok, 0)
	return append(tok, a.pass.Reveal()...)
}

// refuse records a classified refusal in the attempt and returns it.
func (a *cqlAuthenticator) refuse(k factory.Kind, err error) error {
	e := &factory.Error{Kind: k, Host: a.host, Err: err}
	a.att.recordAuthError(e)
	return e
}

// Success records that the server accepted the credentials.
func (a *cqlAuthenticator) Success([]byte) error {
	a.att.noteAuthOK()
	return nil
}

func (a *attempt) noteChallenge(class, user string) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.done {
		a.authClass, a.authUser = class, user
	}
}

func (a *attempt) recordAuthError(err error) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.done {
		a.authErr = err
	}
}

func (a *attempt) noteAuthOK() {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.done {
		a.authOK = true
	}
}
