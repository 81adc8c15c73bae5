package schema_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/schema"
)

func TestOriginsOf(t *testing.T) {
	o := schema.NewOrigins(map[string]string{
		"profiles.a.hosts":                  "a.toml",
		"profiles.a.tls.key.file":           "env CONNFACTORY_PROFILES__A__TLS__KEY__FILE",
		"profiles.a.tls.key.passphrase.env": "a.toml",
		"profiles.a.auth.username":          "b.yaml",
		"defaults.timeout":                  "d.toml",
	})
	require.Equal(t, "a.toml", o.Of("profiles.a.hosts"))
	require.Equal(t, "a.toml", o.Of("profiles.a.hosts.0"), "an ancestor's origin")
	require.Equal(t, "env CONNFACTORY_PROFILES__A__TLS__KEY__FILE", o.Of("profiles.a.tls.key"), "the first descendant's")
	require.Equal(t, "b.yaml", o.Of("profiles.a.auth"))
	require.Equal(t, "", o.Of("profiles.b"))
	require.Equal(t, "d.toml", o.Of("defaults"))
	require.Equal(t, "b.yaml", o.Of("profiles.a"), "profiles.a.auth.username sorts first")
	require.Equal(t, "b.yaml", o.Of("profiles"))
	require.Equal(t, "a.toml", o.Of("profiles.a.tls.key.passphrase[0].env"), "list indexes ignored")
	require.Equal(t, "", schema.Origins{}.Of("x"))
	require.Equal(t, 5, o.Len())
	require.Equal(t, "a.toml", o.Get("profiles.a.hosts"))
	require.Equal(t, "", o.Get("profiles.a.tls.key"), "Get is exact")
	b, err := json.Marshal(o.Profiles("a"))
	require.NoError(t, err)
	require.JSONEq(t, `{"profiles.a.hosts":"a.toml","profiles.a.tls.key.file":"env CONNFACTORY_PROFILES__A__TLS__KEY__FILE",
		"profiles.a.tls.key.passphrase.env":"a.toml","profiles.a.auth.username":"b.yaml"}`, string(b))
}

// TestOriginsIndexed: with 100,000 profiles, looking up tables and paths that have no
// origin stays a per-profile affair (before, each such lookup scanned every origin: a
// validate of 100,000 profiles warned about each one's missing tls section scanned 10^11
// entries). Not timed: a scan per lookup here is some 10^10 comparisons, which runs past
// the test binary's timeout; the index answers in well under a second.
func TestOriginsIndexed(t *testing.T) {
	const n = 50_000
	var o schema.Origins
	for i := range n {
		o.SetProfile(fmt.Sprintf("p%d", i), map[string]string{"backend": "f.toml", "tls.ca.file": "f.toml", "hosts": "env X"})
	}
	for i := range n {
		name := fmt.Sprintf("profiles.p%d", i)
		require.Equal(t, "f.toml", o.Of(name+".tls"))
		require.Equal(t, "", o.Of(name+".auth"))
	}
}

// An origin that is the environment variable of its own path is held as its prefix only
// and rebuilt when asked: every reader gives back exactly the string recorded, for the
// variables that map to their path and for those that do not (another case, another
// profile's, a list's, a relabelled one).
func TestOriginsEnvCompact(t *testing.T) {
	rel := map[string]string{
		"backend":           "env CONNFACTORY_PROFILES__P_1__BACKEND",
		"auth.password.env": "env MY_PROFILES__P_1__AUTH__PASSWORD__ENV",
		"keyspace":          "env CONNFACTORY_PROFILES__p_1__keyspace",
		"hosts":             "env CONNFACTORY_PROFILES__Q__HOSTS",
		"tls.ca":            "env CONNFACTORY_PROFILES__P_1__TLS__CA__0__FILE, env CONNFACTORY_PROFILES__P_1__TLS__CA__1__FILE",
		"timeout":           "env CONNFACTORY_DEFAULTS__TIMEOUT via defaults",
		"tls.mode":          "app.toml",
	}
	var o schema.Origins
	o.SetProfile("p_1", rel)
	o.Set("profiles.p_1.tls.server_name", "env CONNFACTORY_PROFILES__P_1__TLS__SERVER_NAME")
	rel["tls.server_name"] = "env CONNFACTORY_PROFILES__P_1__TLS__SERVER_NAME"
	all := map[string]string{}
	for p, v := range o.All() {
		all[p] = v
	}
	for k, v := range rel {
		require.Equal(t, v, o.Get("profiles.p_1."+k), k)
		require.Equal(t, v, o.Of("profiles.p_1."+k), k)
		require.Equal(t, v, all["profiles.p_1."+k], k)
	}
	require.Len(t, all, len(rel))
	require.Equal(t, rel["auth.password.env"], o.Of("profiles.p_1.auth"))
	require.Equal(t, rel["auth.password.env"], o.Profiles("p_1").Of("profiles.p_1.auth.password"))
}
