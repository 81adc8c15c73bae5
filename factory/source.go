package factory

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/connfactory/connfactory/schema"
)

// MaterialSource gives the factory the material and secrets of one profile, resolved from
// the sources its schema values name (files, environment variables), keyed by config path
// relative to the profile: "tls.ca[0]", "tls.key", "tls.key.passphrase", "tls.crl[1]",
// "tls.truststore", "tls.keystore.password", "auth.password",
// "auth.per_host[0].password" (the keys of schema.TLS.Sources and schema.Auth.Secrets
// under "tls." and "auth."). The schema values keep only what the user wrote; the factory
// reads material and secrets through this interface alone (package loaders implements
// it). Inline material (pem, base64) and literal secrets need no source: the factory
// takes them from the schema value when the source has nothing at their path.
//
// Implementations must be safe for concurrent use, and never print what they hold.
type MaterialSource interface {
	// Material returns the bytes resolved for the material source at path, the
	// permission bits of its file (0 for other sources) and whether there are any.
	Material(path string) (data schema.Material, mode uint32, ok bool)
	// Secret returns the secret resolved for the secret source at path, and whether there
	// is one.
	Secret(path string) (schema.Secret, bool)
	// Origin is where the key at path was configured ("app.toml", "env NAME"), for
	// messages; "" when unknown.
	Origin(path string) string
	// Reload reads the same TLS sources again, completely, into a fresh snapshot and
	// swaps it in whole (on error nothing changes): what a tls.reload tick and ReloadNow
	// then compile. Its error names paths and sources, never material or secrets; one
	// wrapping ErrReloadHeld holds the reload.
	Reload(ctx context.Context) error
}

// WithMaterial gives the profile's resolved material and secrets (see MaterialSource):
// what its file and environment sources hold, and, for tls.reload and ReloadNow, a way to
// read them again. connfactory.Registry passes the one package loaders resolved. Without
// it only inline material and literal secrets compile, and reload is off.
func WithMaterial(ms MaterialSource) Option { return func(o *options) { o.material = ms } }

// sources reads the material and secrets of one TLS section: through ms when it has them,
// else from the inline values of the schema. base is the section's path relative to the
// profile ("tls").
type sources struct {
	ms   MaterialSource
	base string
}

// sectionSources is the sources of the section at config path (profiles.NAME.tls, or a
// path relative to the profile).
func sectionSources(ms MaterialSource, path string) sources {
	return sources{ms: ms, base: profileRelative(path)}
}

// profileRelative strips "profiles.NAME." from a config path.
func profileRelative(path string) string {
	if rest, ok := strings.CutPrefix(path, "profiles."); ok {
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			return rest[i+1:]
		}
	}
	return path
}

func (s sources) key(key string) string { return s.base + "." + key }

// bytes returns the bytes of the source at key (relative to the section: "ca[0]"). File
// and environment sources must have been resolved into s.ms: the factory never reads the
// file system or the environment.
func (s sources) bytes(key string, m *schema.MaterialSource) ([]byte, error) {
	if s.ms != nil {
		if b, _, ok := s.ms.Material(s.key(key)); ok && len(b) > 0 {
			return b, nil
		}
	}
	switch {
	case m.PEM != "":
		return []byte(m.PEM.Reveal()), nil
	case m.Base64 != "":
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(m.Base64.Reveal()))
		if err != nil {
			return nil, errors.New("inline base64 is not valid base64")
		}
		return b, nil
	case m.File != "" || m.Env != "" || m.EnvBase64 != "":
		return nil, fmt.Errorf("%s was not loaded (the factory does not read files or the environment: resolve material with package loaders and pass it with WithMaterial, or write it inline)", s.describe(key, m))
	}
	return nil, fmt.Errorf("%s is empty", s.describe(key, m))
}

// mode is the permission bits of the file the source at key was read from (0: not a
// file, or not known).
func (s sources) mode(key string) uint32 {
	if s.ms == nil {
		return 0
	}
	_, mode, _ := s.ms.Material(s.key(key))
	return mode
}

// secret returns the secret of sec at key (relative to the section: "key.passphrase"):
// resolved by s.ms, else sec's literal value. A nil sec is the empty secret.
func (s sources) secret(key string, sec *schema.SecretSource) schema.Secret {
	return secretAt(s.ms, s.key(key), sec)
}

// secretAt is the secret of sec at path (relative to the profile).
func secretAt(ms MaterialSource, path string, sec *schema.SecretSource) schema.Secret {
	if sec == nil {
		return ""
	}
	if ms != nil {
		if v, ok := ms.Secret(path); ok {
			return v
		}
	}
	return sec.Value
}

// describe names the source at key for messages, never printing its content: "file
// certs/ca.pem (from app.toml)". The origin is looked up only now, when a message needs it.
func (s sources) describe(key string, m *schema.MaterialSource) string {
	d := m.Describe()
	if s.ms != nil && !m.System {
		if o := s.ms.Origin(s.key(key)); o != "" {
			d += " (from " + o + ")"
		}
	}
	return d
}
