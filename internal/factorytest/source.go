package factorytest

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/schema"
)

// testFiles are the material files tests name (FileSrc): what a loader would have read,
// with the permission bits it would have seen. They are process-wide and outlive the
// test that stored them (-count=N runs every test again in the same process): a test
// that needs a name to be unloaded uses one no test stores.
var testFiles sync.Map // file name -> testFile

type testFile struct {
	data []byte
	mode uint32
}

// SectionSource is a factory.MaterialSource for a section built in a test, as a loader
// would resolve it: a source naming a test file (FileSrc) gives that file's bytes and
// mode, inline material its bytes, a secret its literal value. Reload asks next for the
// section to read from now on (nil next: the same one), as a loader reading its sources
// again would find them.
type SectionSource struct {
	mu   sync.Mutex
	cur  *schema.TLS
	next func(context.Context) (*schema.TLS, error)
}

var _ factory.MaterialSource = (*SectionSource)(nil)

// SectionMaterial is a SectionSource of sec that never changes.
func SectionMaterial(sec *schema.TLS) *SectionSource { return &SectionSource{cur: sec} }

func (s *SectionSource) section() *schema.TLS {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// source finds the material source at path ("tls.ca[0]", "tls.keystore") in the section.
func (s *SectionSource) source(path string) *schema.MaterialSource {
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

func (s *SectionSource) Material(path string) (schema.Material, uint32, bool) {
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

func (s *SectionSource) Secret(path string) (schema.Secret, bool) {
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

func (s *SectionSource) Origin(string) string { return "" }

func (s *SectionSource) Reload(ctx context.Context) error {
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

// ReloadFrom is WithMaterial of a source whose Reload reads the section next returns.
func ReloadFrom(next func(context.Context) (*schema.TLS, error)) factory.Option {
	return factory.WithMaterial(&SectionSource{next: next})
}

// Update is ct.Update of sec with its material as a loader would resolve it.
func Update(ct *factory.ClientTLS, sec *schema.TLS) ([]factory.Warning, error) {
	return ct.Update(sec, SectionMaterial(sec))
}

// FileSrc is material a loader read from a file with the given permission bits (see
// SectionSource, which resolves it).
func FileSrc(name string, data []byte, mode uint32) schema.MaterialSource {
	StoreFile(name, data, mode)
	return schema.MaterialSource{File: name}
}

// StoreFile records the bytes and permission bits a loader would read for the file name.
func StoreFile(name string, data []byte, mode uint32) {
	testFiles.Store(name, testFile{data: data, mode: mode})
}
