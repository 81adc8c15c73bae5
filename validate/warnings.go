package validate

import (
	"fmt"

	"github.com/connfactory/connfactory/schema"
)

// Warnings returns what is valid but weak in every profile of cfg: verification turned
// off or narrowed, legacy TLS or insecure ciphers allowed, credentials over plaintext,
// secrets written into the file. They are Problems by shape, but not errors: a
// configuration with warnings still loads.
func Warnings(cfg *schema.Config) schema.Problems {
	if cfg == nil {
		return nil
	}
	var ws schema.Problems
	for _, name := range sortedNames(cfg.Profiles) {
		ws = append(ws, ProfileWarnings(name, cfg.Profiles[name], cfg.Origins)...)
	}
	return ws.Sorted()
}

// ProfileWarnings returns what is valid but weak in one profile; see Warnings.
func ProfileWarnings(name string, p *schema.Profile, origins Origins) schema.Problems {
	if p == nil {
		return nil
	}
	prefix := "profiles." + name + "."
	var ws schema.Problems
	add := func(path, format string, args ...any) {
		path = prefix + path
		ws = append(ws, schema.Problem{Path: path, Message: fmt.Sprintf(format, args...), Source: originOf(origins, path)})
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
		if a.Password != nil && a.Password.Value != "" {
			add("auth.password", "the password is written in the configuration: prefer {env = \"VAR\"} or {file = \"path\"}")
		}
		for i, h := range a.PerHost {
			if h.Password != nil && h.Password.Value != "" {
				add(fmt.Sprintf("auth.per_host[%d].password", i),
					"the password is written in the configuration: prefer {env = \"VAR\"} or {file = \"path\"}")
			}
		}
		if mech == schema.MechanismNone && (a.Username != "" || a.Password != nil) {
			add("auth.mechanism", "mechanism is none, so the username and password given are not used")
		}
	}
	return ws.Sorted()
}
