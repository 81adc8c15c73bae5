package validate

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/connfactory/connfactory/schema"
)

// Warnings returns what is valid but weak in every profile of cfg: verification turned
// off or narrowed, legacy TLS or insecure ciphers allowed, credentials over plaintext,
// secrets written into the file. A configuration with warnings still loads; the factory
// adds these to each connector's warnings, so a Registry, `validate` and `check` show them.
func Warnings(cfg *schema.Config) []schema.Warning {
	if cfg == nil {
		return nil
	}
	var ws []schema.Warning
	for _, name := range sortedNames(cfg.Profiles) {
		ws = append(ws, ProfileWarnings(name, cfg.Profiles[name], cfg.Origins)...)
	}
	return ws
}

// ProfileWarnings returns what is valid but weak in one profile; see Warnings.
// origins may be nil (a profile built in Go); the warnings are sorted by path.
func ProfileWarnings(name string, p *schema.Profile, origins Origins) []schema.Warning {
	if p == nil {
		return nil
	}
	prefix := "profiles." + name + "."
	var ws schema.Problems
	add := func(path, format string, args ...any) {
		path = prefix + path
		ws = append(ws, schema.Problem{Path: path, Message: fmt.Sprintf(format, args...), Source: originOf(origins, path)})
	}

	if p.Backend == schema.Cassandra {
		if ports := distinctPorts(p.Hosts, schema.Cassandra); len(ports) > 1 {
			add("hosts", "the hosts name different ports (%s): nodes discovered through system.peers are dialled on the first host's, %s; every node of a cluster normally listens on one port",
				strings.Join(ports, ", "), ports[0])
		}
	}

	mech := p.Auth.EffectiveMechanism()
	switch {
	case !p.TLS.Enabled() && mech != schema.MechanismNone:
		add("tls", "credentials (mechanism %s) travel in plaintext: add a tls section", mech)
	case !p.TLS.Enabled():
		add("tls", "the connection is not encrypted")
	}
	if t := p.TLS; t.Enabled() {
		switch t.EffectiveMode() {
		case schema.TLSInsecure:
			add("tls.mode", "mode insecure verifies nothing: anyone on the path can impersonate the server")
		case schema.TLSVerifyCA:
			add("tls.mode", "mode verify-ca does not check the server's name: any certificate from the CA is accepted")
		}
		if v := t.MinVersion; v != "" && t.AllowLegacyVersions && schema.TLSVersions[v] != 0 &&
			schema.TLSVersions[v] < schema.TLSVersions["1.2"] {
			add("tls.min_version", "TLS %s is allowed: versions below 1.2 are broken", v)
		}
		if t.AllowInsecureCiphers {
			add("tls.allow_insecure_ciphers", "cipher suites Go lists as insecure are allowed")
		}
		if t.CRLStale == schema.CRLStaleWarn {
			add("tls.crl_stale", "a CRL past its next update is still used: revocations since then go unseen")
		}
	}
	if a := p.Auth; a != nil {
		for path, sec := range a.Secrets() {
			literalPassword(add, "auth."+path, sec)
		}
		if mech == schema.MechanismNone && (a.Username != "" || a.Password != nil) {
			add("auth.mechanism", "mechanism is none, so the username and password given are not used")
		}
	}
	out := make([]schema.Warning, 0, len(ws))
	for _, w := range ws.Sorted() {
		out = append(out, schema.Warning(w))
	}
	return out
}

// varRef is a literal that looks like a shell variable: "$CASS_PW" or "${CASS_PW}".
var varRef = regexp.MustCompile(`^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$`)

// literalPassword warns about a password written in the file; one that looks like a
// variable reference is not expanded, so it is most likely a mistake for {env = ..}.
func literalPassword(add func(path, format string, args ...any), path string, s *schema.SecretSource) {
	if s == nil || s.Value == "" {
		return
	}
	if m := varRef.FindStringSubmatch(s.Value.Reveal()); m != nil {
		add(path, "the password is a literal that looks like a variable: variables are not expanded "+
			"in a password; did you mean { env = %q }?", m[1]+m[2])
		return
	}
	add(path, "the password is written in the configuration: prefer {env = \"VAR\"} or {file = \"path\"}")
}

// distinctPorts lists the ports of hosts (b's default for a host without one), first
// host's first, each once. Entries that do not parse are left to the rules that report
// them.
func distinctPorts(hosts []string, b schema.Backend) []string {
	var out []string
	for _, h := range hosts {
		hp, err := schema.ParseHost(h, b)
		if err != nil {
			continue
		}
		if port := strconv.Itoa(hp.Port); !slices.Contains(out, port) {
			out = append(out, port)
		}
	}
	return out
}
