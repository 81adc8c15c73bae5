package factory

import (
	"bytes"
	"crypto"
	"crypto/sha1" //nolint:gosec // only its size: the length of a JKS digest.
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/connfactory/connfactory/schema"
)

// The magic numbers at the start of Java's own store formats.
const (
	jksMagic   = 0xFEEDFEED
	jceksMagic = 0xCECECECE
)

// errKeyStorePassword starts the problem of a key store whose password does not open it.
// The message never carries the password. (Unexported: a compile error is a
// schema.Problems of messages, which errors.Is cannot look into.)
var errKeyStorePassword = errors.New("wrong password")

// storeType returns the format of a key store: the declared one, checked against the
// content, or the one detected from the content.
func storeType(data []byte, declared schema.KeyStoreType) (schema.KeyStoreType, error) {
	var found schema.KeyStoreType
	switch {
	case len(data) >= 4 && binary.BigEndian.Uint32(data) == jksMagic:
		found = schema.KeyStoreJKS
	case len(data) >= 4 && binary.BigEndian.Uint32(data) == jceksMagic:
		return "", errors.New("is a JCEKS store, which is not supported: convert it to PKCS#12 (keytool -importkeystore -deststoretype pkcs12)")
	case bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN")):
		return "", errors.New("holds PEM, not a key store: give PEM certificates as tls.ca, a PEM key pair as tls.cert and tls.key")
	case len(data) > 0 && data[0] == 0x30: // a DER SEQUENCE: the PFX of PKCS#12
		found = schema.KeyStorePKCS12
	default:
		return "", errors.New("is neither a JKS nor a PKCS#12 store")
	}
	if declared != "" && declared != found {
		return "", fmt.Errorf("type is %s but the content is a %s store", declared, found)
	}
	return found, nil
}

// storePassword is a key store password: its source (nil: none configured, the empty
// password), for messages, and its value.
type storePassword struct {
	src   *schema.SecretSource
	value schema.Secret
}

// keyPasswordKey is the path, relative to the TLS section, of the secret that decrypts
// ks's private key (see schema.KeyStore.EffectiveKeyPassword).
func keyPasswordKey(ks *schema.KeyStore) string {
	if ks.KeyPassword != nil {
		return "keystore.key_password"
	}
	return "keystore.password"
}

// wrongPassword words a store that its password does not open.
func wrongPassword(what string, pw storePassword) error {
	pass := pw.src
	if pass == nil {
		return fmt.Errorf("%w, or a corrupt store: the %s's integrity check failed with the empty password (no password is configured; Java skips the check of a trust store read without one, connfactory does not)", errKeyStorePassword, what)
	}
	return fmt.Errorf("%w, or a corrupt store: the %s's integrity check failed (password from %s)", errKeyStorePassword, what, pass.Describe())
}

// loadJKS reads a JKS store, checking its integrity with password. Lengths in the file
// are checked against its size first: the library allocates what a length field says.
func loadJKS(data []byte, what string, pass storePassword) (ks keystore.KeyStore, err error) {
	if err := jksBounds(data); err != nil {
		return ks, fmt.Errorf("not a readable JKS store: %v", err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("not a readable JKS store (%v)", r)
		}
	}()
	ks = keystore.New()
	if err := ks.Load(bytes.NewReader(data), []byte(pass.value.Reveal())); err != nil {
		if strings.Contains(err.Error(), "invalid digest") {
			return ks, wrongPassword(what, pass)
		}
		return ks, fmt.Errorf("not a readable JKS store: %s", scrub(err))
	}
	return ks, nil
}

// jksBounds walks the structure of a JKS store and checks that every count and length
// fits in what is left of data.
func jksBounds(data []byte) error {
	rest := data
	take := func(n uint64) error {
		if n > uint64(len(rest)) {
			return errors.New("truncated, or a length beyond the end of the file")
		}
		rest = rest[n:]
		return nil
	}
	u32 := func() (uint32, error) {
		if len(rest) < 4 {
			return 0, errors.New("truncated")
		}
		v := binary.BigEndian.Uint32(rest)
		rest = rest[4:]
		return v, nil
	}
	u16 := func() (uint16, error) {
		if len(rest) < 2 {
			return 0, errors.New("truncated")
		}
		v := binary.BigEndian.Uint16(rest)
		rest = rest[2:]
		return v, nil
	}
	str := func() error {
		n, err := u16()
		if err != nil {
			return err
		}
		return take(uint64(n))
	}
	if err := take(4); err != nil { // magic
		return err
	}
	version, err := u32()
	if err != nil {
		return err
	}
	if version != 1 && version != 2 {
		return fmt.Errorf("unknown JKS version %d", version)
	}
	cert := func() error {
		if version == 2 {
			if err := str(); err != nil {
				return err
			}
		}
		n, err := u32()
		if err != nil {
			return err
		}
		return take(uint64(n))
	}
	entries, err := u32()
	if err != nil {
		return err
	}
	for range entries {
		tag, err := u32()
		if err != nil {
			return err
		}
		if err := str(); err != nil { // alias
			return err
		}
		if err := take(8); err != nil { // creation time
			return err
		}
		switch tag {
		case 1: // private key
			n, err := u32()
			if err != nil {
				return err
			}
			if err := take(uint64(n)); err != nil {
				return err
			}
			certs, err := u32()
			if err != nil {
				return err
			}
			if uint64(certs)*4 > uint64(len(rest)) {
				return errors.New("a certificate count beyond the end of the file")
			}
			for range certs {
				if err := cert(); err != nil {
					return err
				}
			}
		case 2: // trusted certificate
			if err := cert(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown entry tag %d", tag)
		}
	}
	return take(sha1.Size) // the keyed digest
}

// parseTrustStore reads the trusted certificates of a store. The error carries no path
// or source name (one parse may serve every profile), and never the password.
func parseTrustStore(data []byte, typ schema.KeyStoreType, pass storePassword) ([]*x509.Certificate, error) {
	t, err := storeType(data, typ)
	if err != nil {
		return nil, err
	}
	if t == schema.KeyStorePKCS12 {
		if err := checkPKCS12Iterations(data); err != nil {
			return nil, err
		}
		certs, err := pkcs12.DecodeTrustStore(data, pass.value.Reveal())
		switch {
		case errors.Is(err, pkcs12.ErrIncorrectPassword):
			return nil, wrongPassword("trust store", pass)
		case err != nil:
			if _, _, _, kerr := pkcs12.DecodeChain(data, pass.value.Reveal()); kerr == nil || strings.Contains(kerr.Error(), "exactly one key bag") {
				return nil, errors.New("holds private key entries: is this the key store? A PKCS#12 trust store is read with trusted certificate entries only: export the CA (keytool -exportcert) into its own trust store, or give it as tls.ca")
			}
			return nil, fmt.Errorf("not a readable PKCS#12 trust store (%s): a trust store holds only certificates Java marks as trusted (keytool -importcert -storetype pkcs12, or openssl pkcs12 -export -nokeys -jdktrust anyExtendedKeyUsage)", scrub(err))
		case len(certs) == 0:
			return nil, errors.New("is empty: it holds no trusted certificate entry")
		}
		return certs, nil
	}
	ks, err := loadJKS(data, "trust store", pass)
	if err != nil {
		return nil, err
	}
	var (
		certs []*x509.Certificate
		keys  int
	)
	aliases := ks.Aliases()
	slices.Sort(aliases)
	for _, a := range aliases {
		if ks.IsPrivateKeyEntry(a) {
			keys++
			continue
		}
		e, err := ks.GetTrustedCertificateEntry(a)
		if err != nil {
			return nil, fmt.Errorf("entry %q: %s", a, scrub(err))
		}
		c, err := x509.ParseCertificate(e.Certificate.Content)
		if err != nil {
			return nil, fmt.Errorf("entry %q: not an X.509 certificate: %v", a, err)
		}
		certs = append(certs, c)
	}
	switch {
	case len(certs) == 0 && keys > 0:
		return nil, fmt.Errorf("holds no trusted certificate entry, only %d private key entries: is this the key store? A trust store holds the CAs' certificates (keytool -importcert)", keys)
	case len(certs) == 0:
		return nil, errors.New("is empty: it holds no trusted certificate entry")
	}
	return slices.Clip(certs), nil
}

// trustStoreCerts parses a trust store, from cache when the same bytes were parsed with
// the same password and type before.
func (c *MaterialCache) trustStoreCerts(data []byte, typ schema.KeyStoreType, pass storePassword) *parsedCerts {
	parse := func() *parsedCerts {
		certs, err := parseTrustStore(data, typ, pass)
		return &parsedCerts{certs: certs, err: err}
	}
	if c == nil {
		return parse()
	}
	// The key covers what the parse depends on; it is a hash held in memory only.
	h := sha256.New()
	var n [8]byte
	for _, b := range [][]byte{[]byte(typ), []byte(pass.value.Reveal()), data} {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	k := cacheKey{kind: kindTrustStore}
	h.Sum(k.sum[:0])
	return cached(c, k, func() *parsedCerts {
		pc := parse()
		pc.sum = k.sum
		return pc
	})
}

// loadTrustPool builds the trusted root pool from tls.truststore, or else from tls.ca
// (see LoadCertPool). path is the TLS section's config path.
func loadTrustPool(cache *MaterialCache, src sources, path string, t *schema.TLS) (*caBundle, error) {
	ts := t.TrustStore
	if ts == nil {
		return loadCertPool(cache, src, path+".ca", t.CA)
	}
	var ps problemList
	p := path + ".truststore"
	if len(t.CA) > 0 {
		ps.add(p, "tls.truststore replaces tls.ca: set one or the other")
		return nil, ps.err()
	}
	m := ts.Source()
	data, err := src.bytes("truststore", m)
	if err != nil {
		ps.add(p, "%v", err)
		return nil, ps.err()
	}
	pc := cache.trustStoreCerts(data, ts.Type, storePassword{ts.Password, src.secret("truststore.password", ts.Password)})
	if pc.err != nil {
		ps.add(p, "%s: %v", src.describe("truststore", m), pc.err)
		return nil, ps.err()
	}
	for _, c := range pc.certs {
		if c.BasicConstraintsValid && !c.IsCA {
			ps.add(p, "%s: certificate %q is not a CA (basic constraints CA:FALSE): configure the CA that issued it", src.describe("truststore", m), c.Subject.String())
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return cache.bundle(false, []*parsedCerts{pc}), nil
}

// loadClientCert builds the client certificate from tls.keystore, or else from cert +
// key or pkcs12 (see loadKeyPair). Its expiry within tls.expiry_warning is judged by
// materialExpiryWarnings, not here.
func loadClientCert(src sources, path string, t *schema.TLS, now time.Time) (*tls.Certificate, []Warning, error) {
	ks := t.KeyStore
	if ks == nil {
		return loadKeyPair(src, path, t.Cert, t.Key, t.PKCS12, t.StrictKeyPermissions, now, 0)
	}
	var (
		ps    problemList
		warns []Warning
		p     = path + ".keystore"
	)
	for _, s := range []struct {
		key string
		set bool
	}{{"cert", t.Cert != nil}, {"key", t.Key != nil}, {"pkcs12", t.PKCS12 != nil}} {
		if s.set {
			ps.add(p, "tls.keystore replaces tls.%s: set one or the other", s.key)
		}
	}
	if len(ps) > 0 {
		return nil, nil, ps.err()
	}
	m := ks.Source()
	checkKeyPerms(&ps, &warns, p, m, src.mode("keystore"), t.StrictKeyPermissions)
	data, err := src.bytes("keystore", m)
	if err != nil {
		ps.add(p, "%v", err)
		return nil, nil, ps.err()
	}
	chain, priv, w, perr := readKeyStore(data, ks, storePassword{ks.Password, src.secret("keystore.password", ks.Password)},
		storePassword{ks.EffectiveKeyPassword(), src.secret(keyPasswordKey(ks), ks.EffectiveKeyPassword())})
	if perr != nil {
		sub := p
		if perr.key != "" {
			sub = p + "." + perr.key
		}
		ps.add(sub, "%s: %v", src.describe("keystore", m), perr.err)
		return nil, nil, ps.err()
	}
	if w != "" {
		warns = append(warns, Warning{Path: p + ".alias", Message: w})
	}
	if err := ps.err(); err != nil {
		return nil, nil, err
	}
	return keyPair(ps, warns, p, p, chain, priv, now, 0)
}

// storeError is a key store problem and the key under tls.keystore it belongs to ("" for
// the store itself).
type storeError struct {
	key string
	err error
}

// readKeyStore returns the certificate chain and private key of ks's chosen private key
// entry, and a warning if any. pass opens the store, keyPass its private key.
func readKeyStore(data []byte, ks *schema.KeyStore, pass, keyPass storePassword) ([]*x509.Certificate, crypto.PrivateKey, string, *storeError) {
	typ, err := storeType(data, ks.Type)
	if err != nil {
		return nil, nil, "", &storeError{err: err}
	}
	if typ == schema.KeyStorePKCS12 {
		return readPKCS12KeyStore(data, ks, pass, keyPass)
	}
	store, err := loadJKS(data, "key store", pass)
	if err != nil {
		return nil, nil, "", &storeError{err: err}
	}
	aliases := store.Aliases()
	slices.Sort(aliases)
	var keys []string
	for _, a := range aliases {
		if store.IsPrivateKeyEntry(a) {
			keys = append(keys, a)
		}
	}
	alias := strings.ToLower(ks.Alias) // JKS aliases are case-insensitive (stored lower-case)
	switch {
	case len(aliases) == 0:
		return nil, nil, "", &storeError{err: errors.New("is empty: it holds no private key entry")}
	case alias != "" && !slices.Contains(aliases, alias):
		return nil, nil, "", &storeError{"alias", fmt.Errorf("has no entry with alias %q (its private key entries: %s)", ks.Alias, aliasList(keys))}
	case alias != "" && !slices.Contains(keys, alias):
		return nil, nil, "", &storeError{"alias", fmt.Errorf("entry %q is a trusted certificate, not a private key entry (its private key entries: %s)", ks.Alias, aliasList(keys))}
	case alias == "" && len(keys) == 0:
		return nil, nil, "", &storeError{err: fmt.Errorf("holds no private key entry, only %d trusted certificates: is this the trust store?", len(aliases))}
	case alias == "" && len(keys) > 1:
		return nil, nil, "", &storeError{"alias", fmt.Errorf("holds %d private key entries (%s): set alias to choose one", len(keys), aliasList(keys))}
	case alias == "":
		alias = keys[0]
	}
	entry, err := store.GetPrivateKeyEntry(alias, []byte(keyPass.value.Reveal()))
	if err != nil {
		key := "key_password"
		if ks.KeyPassword == nil {
			key = "password"
		}
		return nil, nil, "", &storeError{key, fmt.Errorf("%w: cannot decrypt the private key of entry %q (key password from %s)", errKeyStorePassword, alias, keyPasswordSource(ks))}
	}
	priv, err := parseKeyDER(entry.PrivateKey)
	if err != nil {
		return nil, nil, "", &storeError{"alias", fmt.Errorf("entry %q: %v", alias, err)}
	}
	var chain []*x509.Certificate
	for i, c := range entry.CertificateChain {
		cert, err := x509.ParseCertificate(c.Content)
		if err != nil {
			return nil, nil, "", &storeError{"alias", fmt.Errorf("entry %q: certificate #%d: %v", alias, i+1, err)}
		}
		chain = append(chain, cert)
	}
	if len(chain) == 0 {
		return nil, nil, "", &storeError{"alias", fmt.Errorf("entry %q has no certificate chain", alias)}
	}
	return chain, priv, "", nil
}

// readPKCS12KeyStore reads a PKCS#12 key store: one private key and its chain (what
// go-pkcs12 reads). An alias is checked against the key's friendly name when the store
// can be listed.
func readPKCS12KeyStore(data []byte, ks *schema.KeyStore, pw, keyPass storePassword) ([]*x509.Certificate, crypto.PrivateKey, string, *storeError) {
	pass := pw.value.Reveal()
	if ks.KeyPassword != nil && keyPass.value.Reveal() != pass {
		return nil, nil, "", &storeError{"key_password", errors.New("differs from password: a PKCS#12 store is read with one password (key_password is for JKS stores); leave key_password out")}
	}
	if err := checkPKCS12Iterations(data); err != nil {
		return nil, nil, "", &storeError{err: err}
	}
	priv, leaf, cas, err := pkcs12.DecodeChain(data, pass)
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword):
		return nil, nil, "", &storeError{err: wrongPassword("key store", pw)}
	case err != nil && strings.Contains(err.Error(), "exactly one key bag"):
		return nil, nil, "", &storeError{"alias", errors.New("holds several private keys: a PKCS#12 key store is read with one private key entry; export the one to use (keytool -importkeystore -srcalias NAME -deststoretype pkcs12)")}
	case err != nil && (strings.Contains(err.Error(), "private key missing") || strings.Contains(err.Error(), "certificate missing") || strings.Contains(err.Error(), "expected exactly")):
		return nil, nil, "", &storeError{err: fmt.Errorf("holds no private key entry (%s): is this the trust store?", scrub(err))}
	case err != nil:
		return nil, nil, "", &storeError{err: fmt.Errorf("not a readable PKCS#12 key store: %s", scrub(err))}
	}
	warn := ""
	if ks.Alias != "" {
		name, ok := pkcs12KeyName(data, pass)
		switch {
		case !ok:
			warn = fmt.Sprintf("alias %q cannot be checked (the store's entry names cannot be listed): its only private key is used", ks.Alias)
		case !strings.EqualFold(name, ks.Alias):
			return nil, nil, "", &storeError{"alias", fmt.Errorf("has no private key entry with alias %q (its private key entry: %q)", ks.Alias, name)}
		}
	}
	return leafFirst(priv, append([]*x509.Certificate{leaf}, cas...)), priv, warn, nil
}

// leafFirst puts the certificate of priv first: a store written by keytool holds the
// certificates of every entry, in entry order, and a trusted CA entry may come before
// the key's own certificate. Unchanged when none matches (the mismatch is reported).
func leafFirst(priv crypto.PrivateKey, certs []*x509.Certificate) []*x509.Certificate {
	pub, ok := priv.(interface{ Public() crypto.PublicKey })
	if !ok {
		return certs
	}
	for i, c := range certs {
		if eq, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && eq.Equal(pub.Public()) {
			out := append([]*x509.Certificate{c}, certs[:i]...)
			return append(out, certs[i+1:]...)
		}
	}
	return certs
}

// pkcs12KeyName is the friendly name (Java's alias) of the private key of a PKCS#12
// store, if it can be listed.
func pkcs12KeyName(data []byte, pass string) (string, bool) {
	blocks, err := pkcs12.ToPEM(data, pass) //nolint:staticcheck // only the bag attributes are read.
	if err != nil {
		return "", false
	}
	for _, b := range blocks {
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			name, ok := b.Headers["friendlyName"]
			return name, ok
		}
	}
	return "", false
}

func keyPasswordSource(ks *schema.KeyStore) string {
	if ks.KeyPassword != nil {
		return "key_password, " + ks.KeyPassword.Describe()
	}
	if ks.Password == nil {
		return "none configured: the empty password"
	}
	return "password, " + ks.Password.Describe()
}

func aliasList(as []string) string {
	if len(as) == 0 {
		return "none"
	}
	q := make([]string, len(as))
	for i, a := range as {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, ", ")
}

// fingerprintStores feeds t's key stores, with their bytes and passwords from src, to a
// reload fingerprint (see fingerprint).
func fingerprintStores(field func([]byte), cache *MaterialCache, src sources, t *schema.TLS) {
	store := func(key string, m *schema.MaterialSource, typ schema.KeyStoreType, secrets ...*schema.SecretSource) {
		field([]byte(m.Describe()))
		data, _ := src.bytes(key, m)
		sum := cache.digest(data)
		field(sum[:])
		field([]byte(fmt.Sprint(src.mode(key), typ)))
		for i, s := range secrets {
			field([]byte(s.Describe()))
			field([]byte(src.secret(key+"."+[]string{"password", "key_password"}[i], s).Reveal()))
		}
	}
	if ts := t.TrustStore; ts != nil {
		store("truststore", ts.Source(), ts.Type, ts.Password)
	} else {
		field([]byte("-"))
	}
	if ks := t.KeyStore; ks != nil {
		store("keystore", ks.Source(), ks.Type, ks.Password, ks.KeyPassword)
		field([]byte(ks.Alias))
	} else {
		field([]byte("-"))
	}
}
