package loaders_test

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/connfactory/connfactory/internal/examples"
	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/validate"
)

// The fuzz targets feed arbitrary bytes to the loaders as a configuration file (or as an
// environment) and require only that Load, and validation of whatever Load returns, do not
// panic or hang: problems are the expected answer to most inputs. Their seeds are the
// example profiles plus a few malformed ones, in testdata/fuzz/<Target>, which the plain
// `go test` runs as regular tests.
//
//	go test -run '^$' -fuzz FuzzLoadTOML -fuzztime 30s ./loaders

// fuzzFS is examples/configs (certs/ and secrets/ are what seed profiles reference), to
// which each input is added as the configuration file. Built once: fuzzing runs millions
// of inputs.
var fuzzFS = func() fstest.MapFS {
	m := fstest.MapFS{}
	err := fs.WalkDir(examples.Configs, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(examples.Configs, p)
		if err == nil {
			m[p] = &fstest.MapFile{Data: b, Mode: 0o600}
		}
		return err
	})
	if err != nil {
		panic("loaders fuzz: " + err.Error())
	}
	return m
}()

// fuzzEnv is what {env} and {env_base64} sources see: a fixed, small environment, never
// the process's.
func fuzzEnv(k string) (string, bool) {
	switch k {
	case "CASS_PASSWORD":
		return "pw", true
	case "CA_B64":
		return "bm90IGEgY2VydA==", true
	}
	return "", false
}

// loadFile loads data as the configuration file name and validates the result.
func loadFile(t *testing.T, name string, data []byte) {
	fsys := fstest.MapFS{}
	for k, v := range fuzzFS {
		fsys[k] = v
	}
	fsys[name] = &fstest.MapFile{Data: data, Mode: 0o600}
	cfg, _, err := loaders.Load(loaders.Options{
		Files:     []string{name},
		FS:        fsys,
		EnvPrefix: "-",
		LookupEnv: fuzzEnv,
	})
	if cfg == nil && err == nil {
		t.Fatal("loaders: Load returned neither a configuration nor an error")
	}
	if cfg != nil {
		_ = validate.Config(cfg)
	}
}

// addExamples adds the example files with extension ext as seeds.
func addExamples(f *testing.F, ext string) {
	for name, file := range fuzzFS {
		if strings.HasSuffix(name, ext) && !strings.Contains(name, "/") {
			f.Add(file.Data)
		}
	}
}

func FuzzLoadTOML(f *testing.F) {
	addExamples(f, ".toml")
	f.Add([]byte("[profiles.a]\nbackend = \"cassandra\"\nhosts = [\"h\"]\n[profiles.a.tls]\nciphers = \"A:B\"\nca = [\"system\", { pem = \"x\" }]\n"))
	f.Add([]byte("[profiles.a]\nextends = \"a\"\n"))
	f.Add([]byte("[profiles.a.auth]\npassword = { env = \"CASS_PASSWORD\", file = \"x\" }\n"))
	f.Add([]byte("[profiles\n"))
	f.Add([]byte("profiles = 3\n"))
	f.Fuzz(func(t *testing.T, data []byte) { loadFile(t, "fuzz.toml", data) })
}

func FuzzLoadYAML(f *testing.F) {
	addExamples(f, ".yaml")
	f.Add([]byte("profiles:\n  a:\n    backend: riak\n    hosts: [h]\n    tls: {ca: {env_base64: CA_B64}}\n"))
	f.Add([]byte("profiles:\n  a: &x\n    extends: b\n  b: *x\n"))
	f.Add([]byte("profiles: [1, 2]\n"))
	f.Add([]byte("\t- : :\n"))
	f.Fuzz(func(t *testing.T, data []byte) { loadFile(t, "fuzz.yaml", data) })
}

func FuzzLoadJSON(f *testing.F) {
	f.Add([]byte(`{"defaults":{"connect_timeout":"5s"},"profiles":{"a":{"backend":"cassandra","hosts":["h:9042"],` +
		`"protocol_version":4,"auth":{"mechanism":"password","username":"u","password":{"env":"CASS_PASSWORD"}},` +
		`"tls":{"ca":{"file":"certs/ca.pem"},"cert":{"file":"certs/client.pem"},"key":{"file":"certs/client.key"},` +
		`"crl":[{"file":"certs/crl.pem"}],"ciphers":["ECDHE-RSA-AES128-GCM-SHA256"],"min_version":1.2}}}}`))
	f.Add([]byte(`{"profiles":{"a":{"tls":{"ca":"system","pkcs12":{"base64":"!!","passphrase":"x"}}}}}`))
	f.Add([]byte(`{"profiles":{"A-b":{"hosts":"x,y","timeout":-1}}}`))
	f.Add([]byte(`{"profiles":null}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) { loadFile(t, "fuzz.json", data) })
}

// FuzzLoadEnv takes the environment as newline-separated KEY=VALUE lines.
func FuzzLoadEnv(f *testing.F) {
	if b, err := fs.ReadFile(examples.Configs, examples.EnvExample); err == nil {
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				// The example's paths are relative to the module root; the fuzz FS is
				// examples/configs.
				lines = append(lines, strings.ReplaceAll(l, "examples/configs/", ""))
			}
		}
		f.Add(strings.Join(lines, "\n"))
	}
	f.Add("CONNFACTORY_PROFILES__R__BACKEND=riak\nCONNFACTORY_PROFILES__R__TLS__CIPHERS=A:B,C\nCONNFACTORY_PROFILES__R__TLS__CA=system")
	f.Add("CONNFACTORY_PROFILES__R__AUTH__PER_HOST=x\nCONNFACTORY_PROFILES____=1\nCONNFACTORY_=2")
	f.Add("CONNFACTORY_PROFILES__R=scalar\nCONNFACTORY_PROFILES__R__HOSTS=a")
	f.Add("CONNFACTORY_DEFAULTS__CONNECT_TIMEOUT=forever")
	f.Fuzz(func(t *testing.T, environ string) {
		env := strings.Split(environ, "\n")
		lookup := map[string]string{}
		for _, kv := range env {
			if k, v, ok := strings.Cut(kv, "="); ok {
				lookup[k] = v
			}
		}
		cfg, _, err := loaders.Load(loaders.Options{
			FS:      fuzzFS,
			Environ: env,
			LookupEnv: func(k string) (string, bool) {
				if v, ok := lookup[k]; ok {
					return v, true
				}
				return fuzzEnv(k)
			},
		})
		if cfg == nil && err == nil {
			t.Fatal("loaders: Load returned neither a configuration nor an error")
		}
		if cfg != nil {
			_ = validate.Config(cfg)
		}
	})
}
