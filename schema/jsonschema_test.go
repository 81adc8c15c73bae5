package schema_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
	jsv "github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/connfactory/connfactory/schema"
)

const examplesDir = "../examples/configs"

func TestSchemaContent(t *testing.T) {
	raw, err := schema.JSONSchema()
	require.NoError(t, err)
	var doc struct {
		ID         string `json:"$id"`
		Schema     string `json:"$schema"`
		Properties map[string]struct {
			Description string `json:"description"`
		} `json:"properties"`
		Defs map[string]struct {
			Description          string                     `json:"description"`
			AdditionalProperties *bool                      `json:"additionalProperties"`
			OneOf                []map[string]any           `json:"oneOf"`
			Properties           map[string]json.RawMessage `json:"properties"`
		} `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.Equal(t, schema.JSONSchemaID, doc.ID)
	require.Contains(t, doc.Schema, "2020-12")
	require.Contains(t, doc.Properties["profiles"].Description, "named connections")
	profile := doc.Defs["Profile"]
	require.NotNil(t, profile.AdditionalProperties)
	require.False(t, *profile.AdditionalProperties)
	for _, key := range []string{"backend", "hosts", "protocol_version", "connect_timeout", "auth", "tls"} {
		require.Contains(t, profile.Properties, key)
	}
	require.Contains(t, string(profile.Properties["backend"]), "Required.")
	require.Contains(t, string(doc.Defs["TLS"].Properties["mode"]), "verify-full")
	require.Len(t, doc.Defs["SecretSource"].OneOf, 3)
	require.Len(t, doc.Defs["MaterialSource"].OneOf, 2)
	// Loader-only fields never reach the schema.
	for _, def := range doc.Defs {
		for _, key := range []string{"Data", "Origin", "Resolved", "IsResolved", "Origins", "Mode"} {
			require.NotContains(t, def.Properties, key)
		}
	}
}

// compile returns the checked-in schema, compiled.
func compile(t *testing.T) *jsv.Schema {
	t.Helper()
	raw, err := schema.JSONSchema()
	require.NoError(t, err)
	doc, err := jsv.UnmarshalJSON(bytes.NewReader(raw))
	require.NoError(t, err)
	c := jsv.NewCompiler()
	require.NoError(t, c.AddResource(schema.JSONSchemaID, doc))
	sch, err := c.Compile(schema.JSONSchemaID)
	require.NoError(t, err)
	return sch
}

// instance parses a configuration document the way the loaders' parsers see it and
// returns it as the validator's JSON value.
func instance(t *testing.T, format string, data []byte) any {
	t.Helper()
	var v map[string]any
	switch format {
	case "toml":
		require.NoError(t, toml.Unmarshal(data, &v))
	case "yaml", "yml":
		require.NoError(t, yaml.Unmarshal(data, &v))
	case "json":
		require.NoError(t, json.Unmarshal(data, &v))
	default:
		t.Fatalf("unknown format %q", format)
	}
	// Through JSON, so TOML's int64 and YAML's types become what a JSON reader sees.
	b, err := json.Marshal(v)
	require.NoError(t, err)
	inst, err := jsv.UnmarshalJSON(bytes.NewReader(b))
	require.NoError(t, err)
	return inst
}

func TestExamplesValidate(t *testing.T) {
	sch := compile(t)
	if _, err := os.Stat(examplesDir); os.IsNotExist(err) {
		t.Logf("%s does not exist yet: nothing to check", examplesDir)
		return
	}
	var files []string
	for _, ext := range []string{"toml", "yaml", "yml", "json"} {
		m, err := filepath.Glob(filepath.Join(examplesDir, "*."+ext))
		require.NoError(t, err)
		files = append(files, m...)
	}
	require.NotEmpty(t, files, "no example configurations in %s", examplesDir)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			inst := instance(t, strings.TrimPrefix(filepath.Ext(f), "."), data)
			require.NoError(t, sch.Validate(inst), "%s does not match the schema", f)
		})
	}
}

func TestValidDocuments(t *testing.T) {
	sch := compile(t)
	docs := map[string]struct{ format, doc string }{
		"every form": {"toml", `
[defaults]
connect_timeout = "5s"
timeout = 2

[profiles.cass_prod]
backend = "cassandra"
extends = "cass_base"
hosts = ["db1.internal:9042", "db2.internal"]
protocol_version = 4
keyspace = "app"
local_datacenter = "dc1"
consistency = "local_quorum"
connect_timeout = "1m30s"

[profiles.cass_prod.auth]
mechanism = "password"
username = "app"
password = { env = "CASS_PASSWORD" }
allowed_authenticators = ["org.apache.cassandra.auth.PasswordAuthenticator"]
per_host = [{ host = "10.0.0.7", username = "dc2app", password = "literal" }]

[profiles.cass_prod.tls]
mode = "verify-full"
ca = [{ file = "certs/ca.pem" }, "system"]
cert = { file = "certs/client.pem" }
key  = { file = "certs/client.key", passphrase = { env = "KEY_PASS" } }
crl  = { file = "certs/revoked.crl" }
crl_stale = "warn"
ciphers = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"
min_version = 1.2
max_version = "1.3"
server_name = "db.internal"
reload = "30s"
allow_legacy_versions = false
allow_insecure_ciphers = false
strict_key_permissions = true

[profiles.cass_base]
backend = "cassandra"
`},
		"riak yaml": {"yaml", `
profiles:
  riak_cert:
    backend: riak
    hosts: ["[::1]:8087"]
    auth: {mechanism: certificate, username: client1}
    tls:
      ca: system
      pkcs12: {file: client.p12, passphrase: {file: /run/secrets/p12}}
      ciphers: [ECDHE-RSA-AES128-GCM-SHA256]
      reload: 0
`},
		"json": {"json", `{"profiles": {"a": {"backend": "riak", "hosts": ["r1"], "auth": {"mechanism": "pam", "username": "u", "password": {"value": "x"}},
			"tls": {"ca": {"pem": "-----BEGIN CERTIFICATE-----"}, "crl": [{"base64": "AAAA"}, {"env_base64": "CRL_B64"}]}}}}`},
		"empty": {"toml", ``},
	}
	for name, d := range docs {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, sch.Validate(instance(t, d.format, []byte(d.doc))))
		})
	}
}

func TestInvalidDocuments(t *testing.T) {
	sch := compile(t)
	docs := map[string]string{
		"unknown top-level key":  `[profile.a]` + "\nbackend = \"riak\"",
		"unknown profile key":    "[profiles.a]\nbackend = \"riak\"\nhost = [\"r1\"]",
		"unknown tls key":        "[profiles.a.tls]\nverify = true",
		"unknown backend":        "[profiles.a]\nbackend = \"mongo\"",
		"uppercase profile name": "[profiles.Prod]\nbackend = \"riak\"",
		"protocol version 2":     "[profiles.a]\nprotocol_version = 2",
		"duration words":         "[profiles.a]\ntimeout = \"5 seconds\"",
		"negative duration":      "[profiles.a]\ntimeout = -5",
		"unknown mechanism":      "[profiles.a.auth]\nmechanism = \"kerberos\"",
		"secret with two keys":   "[profiles.a.auth]\npassword = { env = \"A\", file = \"b\" }",
		"secret unknown key":     "[profiles.a.auth]\npassword = { environment = \"A\" }",
		"empty secret table":     "[profiles.a.auth]\npassword = {}",
		"material bare string":   "[profiles.a.tls]\ncert = \"certs/client.pem\"",
		"material two keys":      "[profiles.a.tls]\ncert = { file = \"a\", env = \"B\" }",
		"ca list with a path":    "[profiles.a.tls]\nca = [\"system\", \"ca.pem\"]",
		"tls version 1.4":        "[profiles.a.tls]\nmin_version = \"1.4\"",
		"crl_stale unknown":      "[profiles.a.tls]\ncrl_stale = \"ignore\"",
		"hosts as number":        "[profiles.a]\nhosts = [9042]",
		"per_host as a table":    "[profiles.a.auth.per_host]\nhost = \"h\"",
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			require.Error(t, sch.Validate(instance(t, "toml", []byte(doc))))
		})
	}
}
