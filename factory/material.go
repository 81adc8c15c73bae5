package factory

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/youmark/pkcs8"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/connfactory/connfactory/schema"
)

// problemList collects problems; its err is a config *Error or nil.
type problemList []schema.Problem

func (p *problemList) add(path, format string, args ...any) {
	*p = append(*p, schema.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (p problemList) err() error {
	if len(p) == 0 {
		return nil
	}
	return configError(p...)
}

// problemsOf extracts the problems of a config error made by configError, so that
// helpers' problems can be merged into one report.
func problemsOf(err error) []schema.Problem {
	var ps schema.Problems
	if errors.As(err, &ps) {
		return ps
	}
	return []schema.Problem{{Message: err.Error()}}
}

// pemBlocks is the one PEM walk: it decodes every PEM block of data, in order; none
// (and no "-----BEGIN" anywhere) means data is not PEM (it may be DER). Text before a
// block is allowed (bundles carry "# Issuer:" comments and `openssl -text` dumps), but a
// file cut mid-write is not: a "-----BEGIN" without its "-----END", a block that does
// not decode, and anything but whitespace after the last block are errors, so a half
// written CRL or CA bundle is refused instead of silently losing its tail.
func pemBlocks(data []byte) ([]*pem.Block, error) {
	const begin = "-----BEGIN"
	var blocks []*pem.Block
	for rest := data; ; {
		at := bytes.Index(rest, []byte(begin))
		if at < 0 {
			if len(blocks) > 0 && len(bytes.TrimSpace(rest)) > 0 {
				return nil, fmt.Errorf("trailing data after PEM block #%d (line %d): the file may be cut mid-write", len(blocks), lineOf(data, rest))
			}
			return blocks, nil
		}
		from := rest[at:]
		b, after := pem.Decode(from)
		// pem.Decode skips a block it cannot decode and returns the next one: the block
		// must be the one that starts here, with no other BEGIN inside what it consumed.
		consumed := from[:len(from)-len(after)]
		if b == nil || bytes.Contains(consumed[len(begin):], []byte(begin)) {
			return nil, fmt.Errorf("PEM block #%d (line %d) is cut or does not decode (a \"-----BEGIN\" without its \"-----END\", or bad base64): the file may be cut mid-write", len(blocks)+1, lineOf(data, from))
		}
		blocks = append(blocks, b)
		rest = after
	}
}

// lineOf is the 1-based line of data at which its suffix rest starts.
func lineOf(data, rest []byte) int {
	return bytes.Count(data[:len(data)-len(rest)], []byte("\n")) + 1
}

// parseCertificates reads every certificate from PEM (CERTIFICATE blocks, other blocks
// skipped) or, when the bytes hold no PEM at all, from DER.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	blocks, err := pemBlocks(data)
	if err != nil {
		return nil, err
	}
	for _, b := range blocks {
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate #%d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(blocks) == 0 && len(bytes.TrimSpace(data)) > 0 {
		// Not DER either: the caller reports "no certificate", which is what it means.
		certs, _ = x509.ParseCertificates(data)
	}
	return certs, nil
}

// indexedPath names element i of a list key, "ca[0]", as package validate does (a single
// table in a file is a one-element list).
func indexedPath(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// loadCertPool builds the trusted root pool from CA sources, taking its parses from cache
// (nil: parse every time). path is the config path of
// the ca key itself ("profiles.x.tls.ca"); problems name it, or "ca[i]" for one element
// of a longer list. No source, or a "system" source, includes the operating system's
// pool. It returns the pool and the certificates read from non-system sources. A source
// holding no certificate, or a certificate that is not a CA, is an error (*Error of kind
// config). Expired CA certificates are not errors here (the chain check reports them). The
// bundle returned may be shared with other profiles: its pool and certificates are
// read-only.
func loadCertPool(cache *MaterialCache, src sources, path string, srcs []schema.MaterialSource) (*caBundle, error) {
	var (
		ps     problemList
		parts  = make([]*parsedCerts, 0, len(srcs))
		system = len(srcs) == 0
	)
	for i := range srcs {
		m := &srcs[i]
		p, key := indexedPath(path, i), indexedPath("ca", i)
		if m.System {
			system = true
			continue
		}
		data, err := src.bytes(key, m)
		if err != nil {
			ps.add(p, "%v", err)
			continue
		}
		pc := cache.certs(data)
		if pc.err != nil {
			ps.add(p, "%s: %v", src.describe(key, m), pc.err)
			continue
		}
		if len(pc.certs) == 0 {
			ps.add(p, "%s holds no certificate (a CA source must hold at least one PEM CERTIFICATE block or DER certificate)", src.describe(key, m))
			continue
		}
		for _, c := range pc.certs {
			if c.BasicConstraintsValid && !c.IsCA {
				ps.add(p, "%s: certificate %q is not a CA (basic constraints CA:FALSE): configure the CA that issued it", src.describe(key, m), c.Subject.String())
			}
		}
		parts = append(parts, pc)
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	b := cache.bundle(system, parts)
	if b.err != nil {
		return nil, configError(schema.Problem{Path: path, Message: fmt.Sprintf("system trust store: %v", b.err)})
	}
	return b, nil
}

// loadKeyPair builds the client certificate from cert + key, or from a PKCS#12 bundle.
// path is the config path of the TLS section ("profiles.x.tls"); problems name
// path.cert, path.key or path.pkcs12. The certificate must match the key and be valid now;
// one expiring within warnWithin (tls.expiry_warning; 0: never, the caller judges expiry
// itself), and a key file accessible by group or others, are warnings. With neither cert
// nor pkcs12 it returns (nil, nil, nil). strictPerms turns the key permission warning into
// an error; now is the time the certificate must be valid at.
func loadKeyPair(src sources, path string, cert, key, p12 *schema.MaterialSource, strictPerms bool, now time.Time, warnWithin time.Duration) (*tls.Certificate, []Warning, error) {
	var (
		ps    problemList
		warns []Warning
	)
	checkPerms := func(p, k string, m *schema.MaterialSource) {
		checkKeyPerms(&ps, &warns, p, m, src.mode(k), strictPerms)
	}
	var (
		chain    []*x509.Certificate
		priv     crypto.PrivateKey
		certPath = path + ".cert"
	)
	switch {
	case p12 != nil && (cert != nil || key != nil):
		ps.add(path+".pkcs12", "give either pkcs12 or cert and key, not both")
		return nil, nil, ps.err()
	case p12 != nil:
		certPath = path + ".pkcs12"
		checkPerms(certPath, "pkcs12", p12)
		data, err := src.bytes("pkcs12", p12)
		if err != nil {
			ps.add(certPath, "%v", err)
			return nil, nil, ps.err()
		}
		if err := checkPKCS12Iterations(data); err != nil {
			ps.add(certPath, "%s: %v", src.describe("pkcs12", p12), err)
			return nil, nil, ps.err()
		}
		k, leaf, cas, err := pkcs12.DecodeChain(data, src.secret("pkcs12.passphrase", p12.Passphrase).Reveal())
		if err != nil {
			if errors.Is(err, pkcs12.ErrIncorrectPassword) {
				ps.add(certPath, "%s: wrong passphrase (passphrase from %s)", src.describe("pkcs12", p12), p12.Passphrase.Describe())
			} else {
				ps.add(certPath, "%s: not a readable PKCS#12 bundle: %v", src.describe("pkcs12", p12), err)
			}
			return nil, nil, ps.err()
		}
		chain, priv = append([]*x509.Certificate{leaf}, cas...), k
	case cert == nil && key != nil:
		ps.add(certPath, "key is given without cert")
		return nil, nil, ps.err()
	case cert == nil:
		return nil, nil, nil
	default:
		data, err := src.bytes("cert", cert)
		if err != nil {
			ps.add(certPath, "%v", err)
		} else if chain, err = parseCertificates(data); err != nil {
			ps.add(certPath, "%s: %v", src.describe("cert", cert), err)
		} else if len(chain) == 0 {
			ps.add(certPath, "%s holds no certificate", src.describe("cert", cert))
		}
		keySrc, keyPath, keyKey := key, path+".key", "key"
		if keySrc == nil {
			// A combined PEM (cert and key in one file) is common; take the key from it.
			keySrc, keyPath, keyKey = cert, certPath, "cert"
		}
		checkPerms(keyPath, keyKey, keySrc)
		kdata, err := src.bytes(keyKey, keySrc)
		if err != nil {
			ps.add(keyPath, "%v", err)
		} else {
			var w string
			priv, w, err = parsePrivateKey(kdata, src.secret(keyKey+".passphrase", keySrc.Passphrase).Reveal())
			if err != nil {
				ps.add(keyPath, "%s: %v", src.describe(keyKey, keySrc), err)
			} else if w != "" {
				warns = append(warns, Warning{Path: keyPath, Message: w})
			}
		}
		if len(ps) > 0 {
			return nil, nil, ps.err()
		}
	}
	keyPath := path + ".key"
	if p12 != nil {
		keyPath = certPath
	}
	return keyPair(ps, warns, certPath, keyPath, chain, priv, now, warnWithin)
}

// checkKeyPerms reports a key file accessible by group or others (mode: its permission
// bits when read): a warning, or a problem under strict_key_permissions.
func checkKeyPerms(ps *problemList, warns *[]Warning, p string, m *schema.MaterialSource, mode uint32, strict bool) {
	if m == nil || m.File == "" || mode&0o077 == 0 {
		return
	}
	msg := fmt.Sprintf("key file %s is accessible by group or others (mode %04o); libpq refuses such keys: chmod 600 it", m.File, mode&0o777)
	if strict {
		ps.add(p, "%s (strict_key_permissions = true)", msg)
	} else {
		*warns = append(*warns, Warning{Path: p, Message: msg})
	}
}

// keyPair checks that priv matches the leaf of chain (a mismatch is reported at keyPath)
// and that the leaf is valid now (reported at certPath; expiring within warnWithin: a
// warning, 0 for none), and builds the certificate.
func keyPair(ps problemList, warns []Warning, certPath, keyPath string, chain []*x509.Certificate, priv crypto.PrivateKey, now time.Time, warnWithin time.Duration) (*tls.Certificate, []Warning, error) {
	leaf := chain[0]
	pub, ok := priv.(interface{ Public() crypto.PublicKey })
	if !ok {
		ps.add(keyPath, "unsupported private key type %T", priv)
		return nil, nil, ps.err()
	}
	if eq, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(pub.Public()) {
		ps.add(keyPath, "private key does not match the certificate %q in %s", leaf.Subject.String(), certPath)
		return nil, nil, ps.err()
	}
	switch {
	case now.Before(leaf.NotBefore):
		ps.add(certPath, "client certificate %q is not valid before %s", leaf.Subject.String(), leaf.NotBefore.UTC().Format(time.RFC3339))
	case now.After(leaf.NotAfter):
		ps.add(certPath, "client certificate %q expired at %s", leaf.Subject.String(), leaf.NotAfter.UTC().Format(time.RFC3339))
	case expiresWithin(leaf.NotAfter, now, warnWithin):
		warns = append(warns, Warning{Path: certPath, Message: fmt.Sprintf("client certificate %q expires %s",
			leaf.Subject.String(), daysLeft(leaf.NotAfter, now))})
	}
	if err := ps.err(); err != nil {
		return nil, nil, err
	}
	tc := &tls.Certificate{PrivateKey: priv, Leaf: leaf}
	for _, c := range chain {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc, warns, nil
}

// errWrongPassphrase never carries the passphrase or the key bytes.
var errWrongPassphrase = errors.New("wrong passphrase: cannot decrypt the private key")

// parsePrivateKey reads the first private key in data, decrypting it with passphrase: PEM PKCS#8, PKCS#1 or SEC 1,
// encrypted PKCS#8, legacy encrypted PEM (Proc-Type/DEK-Info), or the same as DER.
// The returned string is a warning, if any.
func parsePrivateKey(data []byte, passphrase string) (crypto.PrivateKey, string, error) {
	blocks, err := pemBlocks(data)
	if err != nil {
		return nil, "", err
	}
	for _, b := range blocks {
		switch {
		case b.Type == "ENCRYPTED PRIVATE KEY":
			if passphrase == "" {
				return nil, "", errors.New("the key is encrypted (ENCRYPTED PRIVATE KEY) and no passphrase is configured")
			}
			k, err := pkcs8.ParsePKCS8PrivateKey(b.Bytes, []byte(passphrase))
			if err != nil {
				if strings.Contains(err.Error(), "incorrect password") || strings.Contains(err.Error(), "decrypt") {
					return nil, "", errWrongPassphrase
				}
				// A wrong passphrase can also yield padding that happens to be valid and
				// then garbage that does not parse: say both possibilities.
				return nil, "", fmt.Errorf("wrong passphrase, or not a PKCS#8 key: %s", scrub(err))
			}
			return k, "", nil
		case x509.IsEncryptedPEMBlock(b): //nolint:staticcheck // legacy encrypted PEM must still be read.
			if passphrase == "" {
				return nil, "", fmt.Errorf("the key is encrypted (%s with DEK-Info) and no passphrase is configured", b.Type)
			}
			der, err := x509.DecryptPEMBlock(b, []byte(passphrase)) //nolint:staticcheck // see above.
			if err != nil {
				if errors.Is(err, x509.IncorrectPasswordError) {
					return nil, "", errWrongPassphrase
				}
				return nil, "", fmt.Errorf("cannot decrypt the key: %s", scrub(err))
			}
			k, err := parseKeyDER(der)
			if err != nil {
				return nil, "", errWrongPassphrase // decrypted garbage: the padding check passed by chance
			}
			return k, "", nil
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			k, err := parseKeyDER(b.Bytes)
			if err != nil {
				return nil, "", fmt.Errorf("%s block: %v", b.Type, err)
			}
			return k, passphraseUnused(passphrase), nil
		}
	}
	if len(blocks) > 0 {
		return nil, "", errors.New("holds no PRIVATE KEY block")
	}
	if k, err := parseKeyDER(data); err == nil {
		return k, passphraseUnused(passphrase), nil
	}
	if passphrase != "" {
		if k, err := pkcs8.ParsePKCS8PrivateKey(data, []byte(passphrase)); err == nil {
			return k, "", nil
		}
	}
	return nil, "", errors.New("no private key found (expected PEM or DER: PKCS#8, PKCS#1, SEC 1, encrypted PKCS#8 or legacy encrypted PEM)")
}

func passphraseUnused(p string) string {
	if p == "" {
		return ""
	}
	return "a passphrase is configured but the key is not encrypted; the passphrase is unused"
}

// scrub keeps library error text but never any key bytes; the libraries used here do
// not put secrets in their messages, so this only bounds the length.
func scrub(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func parseKeyDER(der []byte) (crypto.PrivateKey, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("not a PKCS#8, PKCS#1 or SEC 1 private key")
}
