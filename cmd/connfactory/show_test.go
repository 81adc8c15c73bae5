package main_test

import (
	"encoding/json"
	"testing"

	"github.com/pelletier/go-toml/v2"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// parseShow parses show's output in format into a generic document.
func parseShow(t *testing.T, format, out string) map[string]any {
	t.Helper()
	var doc map[string]any
	switch format {
	case "toml":
		require.NoError(t, toml.Unmarshal([]byte(out), &doc), "%s", out)
	case "yaml":
		require.NoError(t, yaml.Unmarshal([]byte(out), &doc), "%s", out)
	case "json":
		require.NoError(t, json.Unmarshal([]byte(out), &doc), "%s", out)
	}
	return doc
}

// dig walks a generic document along keys.
func dig(t *testing.T, doc any, keys ...string) any {
	t.Helper()
	for _, k := range keys {
		m, ok := doc.(map[string]any)
		require.True(t, ok, "at %q: %T is not a map", k, doc)
		doc, ok = m[k]
		require.True(t, ok, "no key %q in %v", k, m)
	}
	return doc
}

func TestShowFormatsParseBack(t *testing.T) {
	t.Parallel()
	files := exampleFiles(t)
	names := exampleProfiles(t)
	for _, format := range []string{"toml", "yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			args := []string{"show", "--format", format, "-c"}
			res := runIn(t, moduleRoot, nil, append(args, files[0])...)
			require.Equal(t, 0, res.code, "%s", res)

			var all []string
			for _, f := range files {
				all = append(all, "-c", f)
			}
			res = runIn(t, moduleRoot, nil, append([]string{"show", "--format", format}, all...)...)
			require.Equal(t, 0, res.code, "%s", res)
			doc := parseShow(t, format, res.stdout)
			profiles := dig(t, doc, "profiles").(map[string]any)
			require.Len(t, profiles, len(names))
			for _, n := range names {
				require.Contains(t, profiles, n)
			}
			// Defaults and extends applied; integers stay integers.
			require.EqualValues(t, 4, dig(t, doc, "profiles", "cass_password", "protocol_version"))
			require.Equal(t, "sasl_plain", dig(t, doc, "profiles", "cass_sasl_plain", "auth", "mechanism"))
			require.Equal(t, "verify-full", dig(t, doc, "profiles", "cass_sasl_plain", "tls", "mode"))
			require.Equal(t, "cassandra", dig(t, doc, "profiles", "cass_sasl_plain", "backend"))
			require.Equal(t, "2s", dig(t, doc, "profiles", "cass_password", "timeout"))
			// A secret from a file shows the file.
			require.Contains(t, dig(t, doc, "profiles", "riak_password", "auth", "password", "file"), "riakuser.password")

			// One profile.
			res = runIn(t, moduleRoot, nil, append([]string{"show", "--format", format, "riak_pam"}, all...)...)
			require.Equal(t, 0, res.code, "%s", res)
			doc = parseShow(t, format, res.stdout)
			require.Len(t, dig(t, doc, "profiles"), 1)
			require.Equal(t, "pam", dig(t, doc, "profiles", "riak_pam", "auth", "mechanism"))
			require.Equal(t, "pamuser", dig(t, doc, "profiles", "riak_pam", "auth", "username"))
		})
	}
}

func TestShowOrigins(t *testing.T) {
	t.Parallel()
	env := []string{"CONNFACTORY_PROFILES__RIAK_PAM__CONNECT_TIMEOUT=7s"}
	for _, format := range []string{"toml", "yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			res := runIn(t, moduleRoot, env, "show", "-c", "examples/configs/riak.toml", "riak_pam", "--origins", "--format", format)
			require.Equal(t, 0, res.code, "%s", res)
			require.Contains(t, res.stdout, "examples/configs/riak.toml")
			require.Contains(t, res.stdout, "CONNFACTORY_PROFILES__RIAK_PAM__CONNECT_TIMEOUT")
			doc := parseShow(t, format, res.stdout) // the origins do not break parsing
			require.Equal(t, "7s", dig(t, doc, "profiles", "riak_pam", "connect_timeout"))
			if format == "json" {
				origins := dig(t, doc, "origins").(map[string]any)
				require.Equal(t, "env CONNFACTORY_PROFILES__RIAK_PAM__CONNECT_TIMEOUT", origins["profiles.riak_pam.connect_timeout"])
				require.Equal(t, "examples/configs/riak.toml", origins["profiles.riak_pam.auth.username"])
				for path := range origins {
					require.Regexp(t, `^profiles\.riak_pam\.`, path, "origins of another profile shown")
				}
			}
		})
	}
	// Without --origins, none.
	res := runIn(t, moduleRoot, env, "show", "-c", "examples/configs/riak.toml", "riak_pam")
	require.Equal(t, 0, res.code, "%s", res)
	require.NotContains(t, res.stdout, "CONNFACTORY_PROFILES__RIAK_PAM__CONNECT_TIMEOUT")
}

func TestShowUsageAndProblems(t *testing.T) {
	t.Parallel()
	res := runIn(t, moduleRoot, nil, "show", "-c", "examples/configs/riak.toml", "no_such_profile")
	require.Equal(t, 64, res.code, "%s", res)
	require.Contains(t, res.stderr, `no profile "no_such_profile"`)
	require.Contains(t, res.stderr, "riak_pam")

	res = runIn(t, moduleRoot, nil, "show", "-c", "examples/configs/riak.toml", "--format", "xml")
	require.Equal(t, 64, res.code, "%s", res)
	require.Contains(t, res.stderr, `--format "xml"`)
	require.Empty(t, res.stdout)

	res = runIn(t, moduleRoot, nil, "show", "-c", "examples/configs/riak.toml", "riak_pam", "riak_trust")
	require.Equal(t, 64, res.code, "%s", res)

	// An invalid configuration: what loaded is shown, the problems go to stderr, exit 1.
	dir := writeFiles(t, t.TempDir(), map[string]string{"p.toml": cass("good", "") + cass("bad", "protocol_version = 2")})
	res = runIn(t, dir, nil, "show", "-c", "p.toml")
	require.Equal(t, 1, res.code, "%s", res)
	require.Contains(t, res.stderr, "profiles.bad.protocol_version: protocol version 2")
	require.Contains(t, res.stdout, "[profiles.good]")

	// A file that does not parse: nothing to show.
	res = runIn(t, t.TempDir(), nil, "show", "-c", "missing.toml")
	require.Equal(t, 1, res.code, "%s", res)
	require.Contains(t, res.stderr, "missing.toml: cannot read configuration file")
}
