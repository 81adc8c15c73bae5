package loaders

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/go-viper/mapstructure/v2"
	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/schema"
)

// slowDecode is decodeInto without the fast decoder: mapstructure alone.
func slowDecode(m map[string]any) (*schema.Profile, error) {
	out := &schema.Profile{}
	dc := decoderConfig()
	dc.Result = out
	d, err := mapstructure.NewDecoder(dc)
	if err != nil {
		return nil, err
	}
	return out, d.Decode(m)
}

// requireSameDecode asserts that the fast decoder either declines m or decodes it to
// what mapstructure makes of it, and never accepts what mapstructure refuses.
func requireSameDecode(t *testing.T, name string, m map[string]any) (fast bool) {
	t.Helper()
	want, err := slowDecode(m)
	got := &schema.Profile{}
	if !fastProfile(m, got) {
		return false
	}
	require.NoError(t, err, "%s: the fast decoder accepted what mapstructure refuses", name)
	require.Equal(t, want, got, name)
	return true
}

// The fast decoder decodes exactly as mapstructure does whatever it accepts: every
// profile of the examples and of the loaders' test files, and tables written to probe
// each shorthand and each type it refuses.
func TestFastDecodeMatchesMapstructure(t *testing.T) {
	var files []string
	for _, g := range []string{"../examples/configs/*", "testdata/*", "testdata/*/*"} {
		fs, err := filepath.Glob(g)
		require.NoError(t, err)
		files = append(files, fs...)
	}
	fastCount := 0
	for _, f := range files {
		var parse func([]byte) (map[string]any, []nullValue, error)
		switch filepath.Ext(f) {
		case ".toml":
			parse = parseTOML
		case ".yaml", ".yml":
			parse = parseYAML
		case ".json":
			parse = parseJSON
		default:
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		m, _, err := parse(b)
		if err != nil {
			continue
		}
		if d, ok := m["defaults"].(map[string]any); ok && requireSameDecode(t, f+" defaults", d) {
			fastCount++
		}
		ps, _ := m["profiles"].(map[string]any)
		for name, p := range ps {
			if pm, ok := p.(map[string]any); ok && requireSameDecode(t, f+" "+name, pm) {
				fastCount++
			}
		}
	}
	require.Greater(t, fastCount, 5, "the fast decoder took none of the test files' profiles")

	type M = map[string]any
	type L = []any
	for i, m := range []M{
		{"backend": "cassandra", "hosts": L{"a:1", "b"}, "protocol_version": int64(4), "keyspace": "k",
			"local_datacenter": "dc1", "consistency": "quorum", "connect_timeout": "5s", "timeout": int64(3),
			"extends": "base", "pool": M{"connections_per_host": int64(2), "max_connections_per_host": 3, "idle_timeout": 1.5}},
		{"hosts": "a:1, b:2,,c"},
		{"hosts": ""},
		{"hosts": L{}},
		{"hosts": L{"a", 1}},
		{"hosts": 1},
		{"protocol_version": "4"},
		{"protocol_version": 4.0},
		{"protocol_version": uint64(4)},
		{"timeout": "5"},
		{"timeout": "-5s"},
		{"timeout": "soon"},
		{"timeout": uint64(7)},
		{"timeout": float32(1)},
		{"timeout": true},
		{"backend": 1},
		{"backend": true},
		{"keyspace": L{"a"}},
		{"unknown": "x"},
		{"auth": M{}},
		{"auth": "x"},
		{"auth": M{"mechanism": "password", "username": "u", "password": "p"}},
		{"auth": M{"password": M{"env": "E"}}},
		{"auth": M{"password": M{"file": "f", "value": "v"}}},
		{"auth": M{"password": M{}}},
		{"auth": M{"password": int64(1)}},
		{"auth": M{"password": M{"env": true}}},
		{"auth": M{"password": M{"nope": "x"}}},
		{"auth": M{"password": L{"x"}}},
		{"auth": M{"allowed_authenticators": "a,b", "authorization_id": "z"}},
		{"auth": M{"per_host": L{M{"host": "h", "username": "u", "password": M{"env": "P"}}, M{}}}},
		{"auth": M{"per_host": M{"host": "h"}}},
		{"auth": M{"per_host": L{"h"}}},
		{"auth": M{"per_host": L{M{"host": 1}}}},
		{"tls": M{}},
		{"tls": M{"mode": "verify-full", "ca": M{"file": "ca.pem"}, "crl": L{M{"file": "a"}, M{"pem": "x"}}}},
		{"tls": M{"ca": "system"}},
		{"tls": M{"ca": " SYSTEM "}},
		{"tls": M{"ca": "ca.pem"}},
		{"tls": M{"ca": L{"system", M{"env": "CA"}, M{"env_base64": "B", "base64": "x"}}}},
		{"tls": M{"ca": L{}}},
		{"tls": M{"ca": L{nil}}},
		{"tls": M{"ca": L{int64(1)}}},
		{"tls": M{"ca": M{"file": 1}}},
		{"tls": M{"ca": M{"system": true}}},
		{"tls": M{"ca": M{"system": "true"}}},
		{"tls": M{"cert": M{"file": "c"}, "key": M{"file": "k", "passphrase": "pp"}, "pkcs12": M{"file": "p", "passphrase": M{"env": "X"}}}},
		{"tls": M{"cert": "system"}},
		{"tls": M{"cert": "c.pem"}},
		{"tls": M{"key": M{"passphrase": int64(1)}}},
		{"tls": M{"crl_stale": "warn", "ciphers": L{"a", "b"}, "server_name": "s", "reload": "1m",
			"allow_legacy_versions": true, "allow_insecure_ciphers": false, "strict_key_permissions": true}},
		{"tls": M{"ciphers": "a,b"}},
		{"tls": M{"min_version": 1.2, "max_version": "1.3"}},
		{"tls": M{"min_version": int64(1), "max_version": 1}},
		{"tls": M{"min_version": true}},
		{"tls": M{"reload": int64(30)}},
		{"tls": M{"allow_legacy_versions": "yes"}},
		{"tls": L{}},
		{"pool": M{"connections_per_host": "2"}},
		{"pool": M{"idle_timeout": "x"}},
	} {
		requireSameDecode(t, "table "+string(rune('A'+i)), m)
	}
	require.True(t, requireSameDecode(t, "a generated profile", map[string]any{
		"backend": "riak", "hosts": L{"kv1.internal:8087"},
		"auth": M{"mechanism": "password", "username": "app", "password": M{"env": "BIG_PW"}},
		"tls":  M{"mode": "verify-full", "ca": M{"file": "ca.pem"}, "crl": L{M{"file": "crl.pem"}}},
	}))
}
