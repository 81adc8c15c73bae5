package loaders_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/loaders"
)

// TestSecretsOnlyStrings: a secret is a string, in every format and every place a secret
// goes (password, per-host password, key and PKCS#12 passphrases); any other type is a
// problem at its path, never converted, and the value is never repeated.
func TestSecretsOnlyStrings(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "a.toml", `
[profiles.datetime]
backend = "cassandra"
hosts = ["h"]
auth = { mechanism = "password", username = "u", password = 1979-05-27T07:32:00Z }
[profiles.localdate]
backend = "cassandra"
hosts = ["h"]
auth = { mechanism = "password", username = "u", password = 1979-05-27 }
[profiles.valuebool]
backend = "cassandra"
hosts = ["h"]
auth = { mechanism = "password", username = "u", password = { value = true } }
[profiles.valueint]
backend = "cassandra"
hosts = ["h"]
auth = { mechanism = "password", username = "u", password = { value = 80085 } }
[profiles.envint]
backend = "cassandra"
hosts = ["h"]
auth = { mechanism = "password", username = "u", password = { env = 12 } }
[profiles.integer]
backend = "cassandra"
hosts = ["h"]
auth = { mechanism = "password", username = "u", password = 80085 }
[profiles.boolean]
backend = "cassandra"
hosts = ["h"]
auth = { mechanism = "password", username = "u", password = true }
[profiles.perhost]
backend = "cassandra"
hosts = ["h"]
auth = { mechanism = "password", username = "u", password = "ok", per_host = [{ host = "x", username = "v", password = { value = 1.5 } }] }
[profiles.passphrase]
backend = "cassandra"
hosts = ["h"]
[profiles.passphrase.tls]
ca = { pem = "x" }
cert = { pem = "x" }
key = { pem = "x", passphrase = { value = false } }
`)
	y := write(t, dir, "b.yaml", `
profiles:
  yamlint:
    backend: riak
    hosts: [h]
    auth: { mechanism: pam, username: u, password: 0123 }
  yamldate:
    backend: riak
    hosts: [h]
    auth: { mechanism: pam, username: u, password: 2001-12-14 }
  yamlbool:
    backend: riak
    hosts: [h]
    auth: { mechanism: pam, username: u, password: true }
`)
	j := write(t, dir, "c.json", `{"profiles": {
  "jsonbool": {"backend": "cassandra", "hosts": ["h"], "auth": {"mechanism": "sasl_plain", "username": "u", "password": {"value": true}}},
  "jsonnum":  {"backend": "cassandra", "hosts": ["h"], "auth": {"mechanism": "sasl_plain", "username": "u", "password": 80085}},
  "jsonlist": {"backend": "cassandra", "hosts": ["h"], "auth": {"mechanism": "sasl_plain", "username": "u", "password": ["a"]}}
}}`)
	_, ps := load(t, loaders.Options{Files: []string{f, y, j}})
	for path, msg := range map[string]string{
		"profiles.datetime.auth.password":            "got a date/time",
		"profiles.localdate.auth.password":           "got a date/time",
		"profiles.valuebool.auth.password":           "value: expected a string, got a boolean",
		"profiles.valueint.auth.password":            "value: expected a string, got an integer",
		"profiles.envint.auth.password":              "env: expected a string, got an integer",
		"profiles.integer.auth.password":             "only strings are secrets",
		"profiles.boolean.auth.password":             "got a boolean",
		"profiles.perhost.auth.per_host[0].password": "value: expected a string, got a number",
		"profiles.passphrase.tls.key.passphrase":     "value: expected a string, got a boolean",
		"profiles.yamlint.auth.password":             "only strings are secrets",
		"profiles.yamldate.auth.password":            "got a date/time",
		"profiles.yamlbool.auth.password":            "got a boolean",
		"profiles.jsonbool.auth.password":            "value: expected a string, got a boolean",
		"profiles.jsonnum.auth.password":             "only strings are secrets",
		"profiles.jsonlist.auth.password":            "got a list",
	} {
		findProblem(t, ps, path, msg)
	}
	// The temporary directory's random name may hold any digits: leave it out.
	text := strings.ReplaceAll(ps.Error(), dir, "DIR")
	for _, leaked := range []string{"80085", "1979", "2001-12-14", "0123", "83"} {
		require.NotContains(t, text, leaked)
	}
}
