package factory_test

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/schema"
)

// testFiles are the material files tests name (fileSrc): what a loader would have read,
// with the permission bits it would have seen.
var testFiles sync.Map // file name -> testFile

type testFile struct {
	data []byte
	mode uint32
}

// sectionSource is a factory.MaterialSource for a section built in a test, as a loader
// would resolve it: a source naming a test file (fileSrc) gives that file's bytes and
// mode, inline material its bytes, a secret its literal value. Reload asks next for the
// section to read from now on (nil next: the same one), as a loader reading its sources
// again would find them.
type sectionSource struct {
	mu   sync.Mutex
	cur  *schema.TLS
	next func(context.Context) (*schema.TLS, error)
}

var _ factory.MaterialSource = (*sectionSource)(nil)

// sectionMaterial is a sectionSource of sec that never changes.
func sectionMaterial(sec *schema.TLS) *sectionSource { return &sectionSource{cur: sec} }

func (s *sectionSource) section() *schema.TLS {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// source finds the material source at path ("tls.ca[0]", "tls.keystore") in the section.
func (s *sectionSource) source(path string) *schema.MaterialSource {
	t := s.section()
	key, ok := strings.CutPrefix(path, "tls.")
	if t == nil || !ok {
		return nil
	}
	switch {
	case key == "truststore" && t.TrustStore != nil:
		return t.TrustStore.Source()
	case key == "keystore" && t.KeyStore != nil:
		return t.KeyStore.Source()
	}
	for k, m := range t.Sources() {
		if k == key {
			return m
		}
	}
	return nil
}

func (s *sectionSource) Material(path string) (schema.Material, uint32, bool) {
	m := s.source(path)
	switch {
	case m == nil:
	case m.File != "":
		if f, ok := testFiles.Load(m.File); ok {
			return f.(testFile).data, f.(testFile).mode, true
		}
	case m.PEM != "":
		return schema.Material(m.PEM.Reveal()), 0, true
	case m.Base64 != "":
		if b, err := base64.StdEncoding.DecodeString(m.Base64.Reveal()); err == nil {
			return b, 0, true
		}
	}
	return nil, 0, false
}

func (s *sectionSource) Secret(path string) (schema.Secret, bool) {
	t := s.section()
	if t == nil {
		return "", false
	}
	var sec *schema.SecretSource
	switch path {
	case "tls.truststore.password":
		if t.TrustStore != nil {
			sec = t.TrustStore.Password
		}
	case "tls.keystore.password", "tls.keystore.key_password":
		if t.KeyStore != nil {
			sec = t.KeyStore.Password
			if strings.HasSuffix(path, "key_password") {
				sec = t.KeyStore.KeyPassword
			}
		}
	default:
		if m := s.source(strings.TrimSuffix(path, ".passphrase")); m != nil {
			sec = m.Passphrase
		}
	}
	if sec == nil {
		return "", false
	}
	return sec.Value, true
}

func (s *sectionSource) Origin(string) string { return "" }

func (s *sectionSource) Reload(ctx context.Context) error {
	if s.next == nil {
		return nil
	}
	t, err := s.next(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.cur = t
	s.mu.Unlock()
	return nil
}

// reloadFrom is WithMaterial of a source whose Reload reads the section next returns.
func reloadFrom(next func(context.Context) (*schema.TLS, error)) factory.Option {
	return factory.WithMaterial(&sectionSource{next: next})
}

// b64 writes material inline, exactly: base64 of its bytes (PEM or DER).
func b64(data []byte) schema.Secret {
	return schema.Secret(base64.StdEncoding.EncodeToString(data))
}

// update is ct.Update of sec with its material as a loader would resolve it.
func update(ct *factory.ClientTLS, sec *schema.TLS) ([]factory.Warning, error) {
	return ct.Update(sec, sectionMaterial(sec))
}

// mapSource is a MaterialSource of fixed material and secrets by path, every key
// configured in app.toml.
type mapSource struct {
	material map[string][]byte
	secrets  map[string]string
	origins  atomic.Int32 // Origin calls
}

func (m *mapSource) Material(path string) (schema.Material, uint32, bool) {
	b, ok := m.material[path]
	return b, 0o600, ok
}

func (m *mapSource) Secret(path string) (schema.Secret, bool) {
	v, ok := m.secrets[path]
	return schema.Secret(v), ok
}

func (m *mapSource) Origin(string) string         { m.origins.Add(1); return "app.toml" }
func (m *mapSource) Reload(context.Context) error { return nil }

// TestMaterialSourceSeam: file and env sources compile from the MaterialSource, by their
// path relative to the profile, their secrets too; a message names the source and where
// it was configured, looked up only for the message; without a source, inline material
// compiles and a file source is refused as not loaded.
func TestMaterialSourceSeam(t *testing.T) {
	S := tlsNewSet(t)
	enc, err := S.Client.EncryptedPKCS8PEM("s3cret")
	require.NoError(t, err)
	sec := &schema.TLS{
		CA:   []schema.MaterialSource{{File: "certs/ca.pem"}},
		Cert: &schema.MaterialSource{Env: "CLIENT_CERT"},
		Key:  &schema.MaterialSource{File: "certs/client.key", Passphrase: &schema.SecretSource{Env: "KEY_PASS"}},
	}
	ms := &mapSource{
		material: map[string][]byte{"tls.ca[0]": S.Root.CertPEM(), "tls.cert": S.Client.ChainPEM(), "tls.key": enc},
		secrets:  map[string]string{"tls.key.passphrase": "s3cret"},
	}
	ct, _, err := factory.CompileTLS("profiles.p.tls", sec, factory.WithMaterial(ms))
	require.NoError(t, err)
	require.Equal(t, S.Client.Serial(), ct.ClientCertificate().SerialNumber)
	require.Zero(t, ms.origins.Load(), "no message, no origin looked up")

	ms.material["tls.ca[0]"] = []byte("garbage")
	_, _, err = factory.CompileTLS("profiles.p.tls", sec, factory.WithMaterial(ms))
	require.ErrorContains(t, err, "profiles.p.tls.ca[0]: file certs/ca.pem (from app.toml) holds no certificate")
	require.NotZero(t, ms.origins.Load())

	_, _, err = factory.CompileTLS("profiles.p.tls", sec)
	require.ErrorContains(t, err, "profiles.p.tls.ca[0]: file certs/ca.pem was not loaded")
	require.ErrorContains(t, err, "profiles.p.tls.cert: env CLIENT_CERT was not loaded")

	inline := &schema.TLS{CA: []schema.MaterialSource{{PEM: schema.Secret(S.Root.CertPEM())}}}
	_, _, err = factory.CompileTLS("profiles.p.tls", inline)
	require.NoError(t, err)
}
