package loaders_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/internal/examples"
	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
)

// exampleFiles are the checked-in profile files, as paths from this package.
func exampleFiles() []string {
	out := make([]string, len(examples.Files))
	for i, f := range examples.Files {
		out[i] = filepath.Join("..", "examples", "configs", f)
	}
	return out
}

// wantExamples lists, per backend and mechanism, the example profiles that must exist.
var wantExamples = map[string][2]string{
	"cass_none":               {"cassandra", "none"},
	"cass_password":           {"cassandra", "password"},
	"cass_sasl_plain":         {"cassandra", "sasl_plain"},
	"cass_mtls":               {"cassandra", "none"},
	"cass_none_yaml":          {"cassandra", "none"},
	"cass_password_crl":       {"cassandra", "password"},
	"cass_sasl_plain_yaml":    {"cassandra", "sasl_plain"},
	"cass_mtls_encrypted_key": {"cassandra", "none"},
	"cass_mtls_pkcs12":        {"cassandra", "none"},
	"riak_trust":              {"riak", "trust"},
	"riak_password":           {"riak", "password"},
	"riak_pam":                {"riak", "pam"},
	"riak_certificate":        {"riak", "certificate"},
	"riak_trust_yaml":         {"riak", "trust"},
	"riak_password_crl":       {"riak", "password"},
	"riak_pam_yaml":           {"riak", "pam"},
	"riak_certificate_pkcs12": {"riak", "certificate"},
}

func checkExamples(t *testing.T, cfg *schema.Config) {
	t.Helper()
	require.Len(t, cfg.Profiles, len(wantExamples))
	for name, want := range wantExamples {
		p := cfg.Profiles[name]
		require.NotNil(t, p, name)
		require.Equal(t, schema.Backend(want[0]), p.Backend, name)
		require.Equal(t, schema.Mechanism(want[1]), p.Auth.EffectiveMechanism(), name)
		port := "9042"
		if p.Backend == schema.Riak {
			port = "8087"
		}
		require.Equal(t, []string{"localhost:" + port}, p.Hosts, name)
		if p.Auth != nil && p.Auth.Password != nil {
			pw := secretOf(t, cfg, name, "auth.password", p.Auth.Password)
			require.NotEmpty(t, pw, name)
			require.NotContains(t, pw, "\n", name)
		}
		if p.Backend == schema.Riak && p.Auth.EffectiveMechanism() != schema.MechanismNone {
			require.NotNil(t, p.TLS, "%s: riak auth needs TLS", name)
		}
		if p.TLS != nil {
			require.NotEmpty(t, p.TLS.CA, name)
			for i := range p.TLS.CA {
				require.True(t, strings.HasPrefix(dataOf(t, cfg, name, fmt.Sprintf("tls.ca[%d]", i)), "-----BEGIN CERTIFICATE-----"), name)
			}
			require.Contains(t, []schema.TLSMode{"", schema.TLSVerifyFull}, p.TLS.Mode, name)
		}
	}
	// The special material forms the brief asks for.
	require.Equal(t, "changeit", secretOf(t, cfg, "cass_mtls_encrypted_key", "tls.key.passphrase", cfg.Profiles["cass_mtls_encrypted_key"].TLS.Key.Passphrase))
	require.Contains(t, dataOf(t, cfg, "cass_mtls_encrypted_key", "tls.key"), "ENCRYPTED PRIVATE KEY")
	require.NotEmpty(t, dataOf(t, cfg, "cass_mtls_pkcs12", "tls.pkcs12"))
	require.NotEmpty(t, dataOf(t, cfg, "riak_certificate_pkcs12", "tls.pkcs12"))
	require.Contains(t, dataOf(t, cfg, "cass_password_crl", "tls.crl[0]"), "X509 CRL")
	require.Equal(t, "riakcert", cfg.Profiles["riak_certificate"].Auth.Username)
}

func TestExamplesLoadFromDisk(t *testing.T) {
	cfg := loadOK(t, loaders.Options{Files: exampleFiles()})
	checkExamples(t, cfg)
	require.Equal(t, filepath.Join("..", "examples", "configs", "certs", "ca.pem"), cfg.Profiles["riak_trust"].TLS.CA[0].File)
}

func TestExamplesEachFileAlone(t *testing.T) {
	for _, f := range exampleFiles() {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg := loadOK(t, loaders.Options{Files: []string{f}})
			require.NotEmpty(t, cfg.Profiles)
		})
	}
}

func TestExamplesLoadFromEmbeddedFS(t *testing.T) {
	cfg := loadOK(t, loaders.Options{FS: examples.Configs, Files: examples.Files})
	checkExamples(t, cfg)
	ca := cfg.Profiles["cass_password"].TLS.CA[0]
	require.Equal(t, "certs/ca.pem", ca.File)
	require.Equal(t, "file certs/ca.pem (from cassandra.toml)", originOf(t, cfg, "cass_password", "tls.ca[0]", &ca))
}

// parseEnvFile reads KEY=value lines, skipping blanks and # comments.
func parseEnvFile(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer func() { require.NoError(t, f.Close()) }()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		require.Contains(t, line, "=", "env.example line %q", line)
		out = append(out, line)
	}
	require.NoError(t, sc.Err())
	return out
}

func TestExampleEnvOnlyProfile(t *testing.T) {
	environ := parseEnvFile(t, filepath.Join("..", "examples", "configs", examples.EnvExample))
	t.Chdir("..") // env.example's relative paths are from the module root
	lookup := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		lookup[k] = v
	}
	cfg := loadOK(t, loaders.Options{Environ: environ, LookupEnv: envLookup(lookup)})
	require.Len(t, cfg.Profiles, 1)
	p := cfg.Profiles["env_cass"]
	require.NotNil(t, p)
	require.Equal(t, schema.Cassandra, p.Backend)
	require.Equal(t, 4, p.ProtocolVersion)
	require.Equal(t, schema.MechanismPassword, p.Auth.Mechanism)
	require.Equal(t, "app-example-password", secretOf(t, cfg, "env_cass", "auth.password", p.Auth.Password))
	require.Equal(t, []string{schema.DefaultPasswordAuthenticator}, p.Auth.AllowedAuthenticators)
	require.Equal(t, schema.TLSVersion("1.2"), p.TLS.MinVersion)
	require.Len(t, p.TLS.CA, 2, "the indexed form gives a list: root and intermediate")
	require.NotEmpty(t, dataOf(t, cfg, "env_cass", "tls.ca[0]"))
	require.NotEmpty(t, dataOf(t, cfg, "env_cass", "tls.ca[1]"))
	require.Len(t, p.TLS.CRL, 1)
	require.Equal(t, "env CONNFACTORY_PROFILES__ENV_CASS__HOSTS", cfg.Origins.Get("profiles.env_cass.hosts"))
}

func TestExampleSecretsMatchPKIPassphrase(t *testing.T) {
	// genexamples encrypts with "changeit"; the secrets files must say the same.
	for _, f := range []string{"client-key.passphrase", "client-p12.passphrase", "riakcert-p12.passphrase"} {
		b, err := os.ReadFile(filepath.Join("..", "examples", "configs", "secrets", f))
		require.NoError(t, err)
		require.Equal(t, "changeit", strings.TrimSpace(string(b)), f)
	}
}
