package schema_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/schema"
)

func TestOriginsOf(t *testing.T) {
	o := schema.Origins{
		"profiles.a.hosts":                  "a.toml",
		"profiles.a.tls.key.file":           "env CONNFACTORY_PROFILES__A__TLS__KEY__FILE",
		"profiles.a.tls.key.passphrase.env": "a.toml",
		"profiles.a.auth.username":          "b.yaml",
	}
	require.Equal(t, "a.toml", o.Of("profiles.a.hosts"))
	require.Equal(t, "a.toml", o.Of("profiles.a.hosts.0"), "an ancestor's origin")
	require.Equal(t, "env CONNFACTORY_PROFILES__A__TLS__KEY__FILE", o.Of("profiles.a.tls.key"), "the first descendant's")
	require.Equal(t, "b.yaml", o.Of("profiles.a.auth"))
	require.Equal(t, "", o.Of("profiles.b"))
	require.Equal(t, "", schema.Origins(nil).Of("x"))
}
