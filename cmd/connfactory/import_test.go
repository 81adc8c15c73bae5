package main_test

import (
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/connfactorytest"
	"github.com/connfactory/connfactory/testserver/pki"
)

var updateImport = flag.Bool("update", false, "rewrite testdata/import/*.golden from the import command's output")

// importCases are the sample files of testdata/import: the source kind, the file, and
// extra arguments. Each has a golden file named after it.
var importCases = []struct {
	golden, source, file string
	args                 []string
}{
	{"full.cqlshrc", "cqlshrc", "full.cqlshrc", nil},
	{"validate_false.cqlshrc", "cqlshrc", "validate_false.cqlshrc", []string{"--format", "yaml", "--name", "lab"}},
	{"credentials_default", "cqlshrc", "credentials_default/cqlshrc", nil},
	{"credentials_named.cqlshrc", "cqlshrc", "credentials_named.cqlshrc", []string{"--name", "reports"}},
	{"insecure_credentials", "cqlshrc", "insecure_credentials/cqlshrc", nil},
	{"ipv6.cqlshrc", "cqlshrc", "ipv6.cqlshrc", nil},
	{"ipv6_certfiles_key.cqlshrc", "cqlshrc", "ipv6_certfiles_key.cqlshrc", nil},
	{"certfiles_one.cqlshrc", "cqlshrc", "certfiles_one.cqlshrc", nil},
	{"certfiles_differ.cqlshrc", "cqlshrc", "certfiles_differ.cqlshrc", nil},
	{"unknown_keys.cqlshrc", "cqlshrc", "unknown_keys.cqlshrc", nil},
	{"ssl_flag_only.cqlshrc", "cqlshrc", "ssl_flag_only.cqlshrc", nil},
	{"no_certfile.cqlshrc", "cqlshrc", "no_certfile.cqlshrc", nil},
	{"custom_auth.cqlshrc", "cqlshrc", "custom_auth.cqlshrc", nil},
	{"bad_bool.cqlshrc", "cqlshrc", "bad_bool.cqlshrc", nil},
	{"full.conf", "java-driver", "full.conf", nil},
	{"substitutions.conf", "java-driver", "substitutions.conf", []string{"--format", "yaml"}},
	{"ipv6.conf", "java-driver", "ipv6.conf", nil},
	{"authzid.conf", "java-driver", "authzid.conf", []string{"--name", "proxy_app"}},
	{"truststore.conf", "java-driver", "truststore.conf", nil},
	{"stores_partial.conf", "java-driver", "stores_partial.conf", []string{"--name", "partial"}},
	{"unknown_keys.conf", "java-driver", "unknown_keys.conf", nil},
	{"custom_ssl.conf", "java-driver", "custom_ssl.conf", nil},
	{"bad_cipher.conf", "java-driver", "bad_cipher.conf", nil},
	{"ssl_without_class.conf", "java-driver", "ssl_without_class.conf", nil},
	{"broken.conf", "java-driver", "broken.conf", nil},
}

// importDir copies testdata/import to a temporary directory, as a user's files would be
// (credentials files 0600, except the one meant to be readable by others), with PKI in
// certs/ and home/certs/ for the paths the samples name. It returns the directory.
func importDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("testdata", "import")
	require.NoError(t, filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, err := filepath.Rel(src, path)
		require.NoError(t, err)
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		if strings.HasSuffix(path, ".golden") {
			return nil
		}
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		mode := os.FileMode(0o600)
		if rel == filepath.Join("insecure_credentials", "credentials") {
			mode = 0o644
		}
		require.NoError(t, os.WriteFile(dst, b, mode))
		return os.Chmod(dst, mode) // past the umask
	}))
	set, err := pki.NewSet()
	require.NoError(t, err)
	files, err := set.WriteDir(filepath.Join(dir, "certs"))
	require.NoError(t, err)
	// The Java key stores the samples name, with the password the golden test's validate
	// run sets every variable to ("x"), or none.
	trust, err := pki.JKSTrustStore("x", set.Root)
	require.NoError(t, err)
	trustNoPW, err := pki.PKCS12TrustStore("", set.Root)
	require.NoError(t, err)
	keys, err := set.Client.PKCS12("x")
	require.NoError(t, err)
	_, err = pki.WriteFiles(dir, []pki.File{{Name: "certs/truststore.jks", Data: trust, Mode: 0o644},
		{Name: "certs/truststore-nopw.p12", Data: trustNoPW, Mode: 0o644}, {Name: "keystore.p12", Data: keys, Mode: 0o600}})
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "home", "certs"), 0o700))
	for _, f := range []string{pki.FileCA, pki.FileClientKey} {
		b, err := os.ReadFile(files[f])
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "home", "certs", f), b, 0o600))
	}
	return dir
}

// importEnv is the environment of an import run in dir: HOME for "~", and none of the
// variables cqlsh or a HOCON substitution would read.
func importEnv(dir string) []string {
	return []string{"HOME=" + filepath.Join(dir, "home")}
}

// TestImportGolden imports every sample file and compares exit code, stdout and stderr
// with its golden file (go test ./cmd/connfactory -run TestImportGolden -update rewrites
// them). Every profile printed must pass validate once its variables are set, and no
// secret of a sample may appear in any output.
func TestImportGolden(t *testing.T) {
	t.Parallel()
	dir := importDir(t)
	secrets := []string{"s3cret-in-cqlshrc", "from-the-credentials-file", "from-creds", "legacy-section-ignored",
		"world-readable", "do-not-print-me", "hunter2", "changeit", "changeit-too"}
	for _, tc := range importCases {
		t.Run(tc.golden, func(t *testing.T) {
			res := runIn(t, dir, importEnv(dir), append([]string{"import", tc.source, tc.file}, tc.args...)...)
			got := strings.ReplaceAll("exit "+strconv.Itoa(res.code)+"\n--- stdout\n"+res.stdout+"--- stderr\n"+res.stderr, dir, "$DIR")
			for _, s := range secrets {
				require.NotContains(t, got, s, "a secret of the source was printed")
			}
			golden := filepath.Join("testdata", "import", tc.golden+".golden")
			if *updateImport {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "no golden file: run with -update")
			require.Equal(t, string(want), got)

			if res.code != 0 {
				require.Empty(t, res.stdout, "nothing on stdout when the import fails")
				return
			}
			ext := ".toml"
			if strings.Contains(strings.Join(tc.args, " "), "yaml") {
				ext = ".yaml"
			}
			out := filepath.Join(dir, "out-"+tc.golden+ext)
			require.NoError(t, os.WriteFile(out, []byte(res.stdout), 0o600))
			env := importEnv(dir)
			for _, line := range strings.Split(res.stderr, "\n") {
				if v, ok := strings.CutPrefix(line, "set "); ok {
					env = append(env, v[:strings.Index(v, ":")]+"=x")
				}
			}
			val := runIn(t, dir, env, "validate", "-c", out)
			require.Equal(t, 0, val.code, "the imported profile does not validate:\n%s\n%s", res.stdout, val)
		})
	}
}

// TestImportEndToEnd imports a cqlshrc (TLS, a credentials file) and a Java driver
// application.conf (TLS against the default trust store, PlainTextAuthProvider) written
// for the sandbox's CQL server, validates each imported profile and checks it against
// that server: a real TLS handshake and a real authentication.
func TestImportEndToEnd(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	host, port, err := net.SplitHostPort(sb.Cassandra.Addr())
	require.NoError(t, err)
	ca := sb.Files[pki.FileCA]
	trust, err := pki.JKSTrustStore("ts-pass-e2e", sb.PKI.Root)
	require.NoError(t, err)
	keys, err := pki.JKS("ks-pass-e2e", pki.JKSEntry{Alias: "client", Leaf: sb.PKI.Client}, pki.JKSEntry{Alias: "root", Cert: sb.PKI.Root.Cert})
	require.NoError(t, err)
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"stores/truststore.jks": string(trust),
		"stores/keystore.jks":   string(keys),
		// Java key stores: the trust anchors and the client's key pair, as Cassandra's
		// own tooling hands them out.
		"stores.conf": fmt.Sprintf(`datastax-java-driver {
  basic.contact-points = [ "%s" ]
  advanced.auth-provider { class = PlainTextAuthProvider, username = %s, password = "from-the-file" }
  advanced.ssl-engine-factory {
    class = DefaultSslEngineFactory
    truststore-path = stores/truststore.jks
    truststore-password = "ts-pass-e2e"
    keystore-path = stores/keystore.jks
    keystore-password = "ks-pass-e2e"
    keystore-reload-interval = 1 hour
  }
}
`, sb.Cassandra.Addr(), connfactorytest.CassandraUser),
		"cqlshrc": fmt.Sprintf(`[authentication]
keyspace = system

[connection]
hostname = %s
port = %s
ssl = true

[ssl]
certfile = %s
validate = true
`, host, port, ca),
		// cqlsh's default credentials file, next to the cqlshrc.
		"credentials": "[PlainTextAuthProvider]\nusername = " + connfactorytest.CassandraUser + "\npassword = " + connfactorytest.CassandraPassword + "\n",
		"application.conf": fmt.Sprintf(`datastax-java-driver {
  basic.contact-points = [ "%s" ]
  advanced.auth-provider {
    class = PlainTextAuthProvider
    username = %s
    password = ${?APP_DB_PASSWORD}
  }
  advanced.ssl-engine-factory { class = DefaultSslEngineFactory }
}
`, sb.Cassandra.Addr(), connfactorytest.CassandraUser),
	})
	pw := "SANDBOX_PASSWORD=" + connfactorytest.CassandraPassword
	for _, tc := range []struct {
		source, file string
		env          []string
		client       string // the client certificate check must report
	}{
		{"cqlshrc", "cqlshrc", nil, ""},
		// No truststore: the driver trusts the JVM's default store and the profile the
		// system's, which Go reads from SSL_CERT_FILE.
		{"java-driver", "application.conf", []string{"SSL_CERT_FILE=" + ca}, ""},
		{"java-driver", "stores.conf", []string{"SANDBOX_TRUSTSTORE_PASSWORD=ts-pass-e2e", "SANDBOX_KEYSTORE_PASSWORD=ks-pass-e2e"}, "client:  CN=app"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			res := runIn(t, dir, nil, "import", tc.source, tc.file, "--name", "sandbox")
			require.Equal(t, 0, res.code, "%s", res)
			require.Contains(t, res.stderr, "set SANDBOX_PASSWORD: ")
			for _, e := range tc.env {
				if name, _, _ := strings.Cut(e, "="); strings.HasSuffix(name, "STORE_PASSWORD") {
					require.Contains(t, res.stderr, "set "+name+": ")
				}
			}
			for _, secret := range []string{connfactorytest.CassandraPassword, "from-the-file", "ts-pass-e2e", "ks-pass-e2e"} {
				require.NotContains(t, res.stdout+res.stderr, secret)
			}
			out := filepath.Join(dir, tc.file+".toml")
			require.NoError(t, os.WriteFile(out, []byte(res.stdout), 0o600))

			val := runIn(t, dir, nil, "validate", "-c", out)
			require.Equal(t, 1, val.code, "without its variable the profile is incomplete\n%s", val)
			require.Contains(t, val.stderr, "SANDBOX_PASSWORD")

			env := append([]string{pw}, tc.env...)
			val = runIn(t, dir, env, "validate", "-c", out)
			require.Equal(t, 0, val.code, "%s", val)
			check := runIn(t, dir, env, "check", "-c", out, "sandbox")
			require.Equal(t, 0, check.code, "%s\n--- imported:\n%s", check, res.stdout)
			require.Contains(t, check.stdout, tc.client)

			wrong := runIn(t, dir, append([]string{"SANDBOX_PASSWORD=wrong"}, tc.env...), "check", "-c", out, "sandbox")
			require.Equal(t, 2, wrong.code, "%s", wrong)
			require.Contains(t, wrong.stdout, "auth_failed")
		})
	}
}

// TestImportUsage: command-line mistakes are usage errors (64); a file that cannot be
// read is not (1).
func TestImportUsage(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, t.TempDir(), map[string]string{"cqlshrc": "[connection]\nhostname = db1\n"})
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"import"}, 64, "import needs a source: cqlshrc FILE or java-driver FILE"},
		{[]string{"import", "odbc", "x"}, 64, `unknown command "odbc"`},
		{[]string{"import", "cqlshrc"}, 64, "accepts 1 arg(s), received 0"},
		{[]string{"import", "cqlshrc", "cqlshrc", "--format", "json"}, 64, `--format "json": accepted: toml, yaml`},
		{[]string{"import", "cqlshrc", "cqlshrc", "--name", "Prod-DB"}, 64, `profile name "Prod-DB": use lowercase letters`},
		{[]string{"import", "cqlshrc", "missing"}, 1, "no such file or directory"},
		{[]string{"import", "java-driver", "missing.conf"}, 1, "missing.conf"},
	} {
		res := runIn(t, dir, nil, tc.args...)
		require.Equal(t, tc.code, res.code, "%v\n%s", tc.args, res)
		require.Contains(t, res.stderr, tc.msg, "%v", tc.args)
		require.Empty(t, res.stdout, "%v", tc.args)
	}
}
