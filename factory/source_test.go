package factory_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/schema"
)

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
	S := factorytest.NewPKI(t)
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
