package factory_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/examples"
	"github.com/connfactory/connfactory/schema"
)

// The fuzz targets feed arbitrary material to the factory's parsers and require that they
// do not panic, that what they accept is consistent, and that a passphrase never shows in
// an error. Seeds are the example PKI (examples/configs/certs) plus malformed variants,
// in testdata/fuzz/<Target>, which the plain `go test` runs as regular tests.
//
//	go test -run '^$' -fuzz FuzzLoadKeyPair -fuzztime 30s ./factory

// fuzzPassMarker starts the passphrases whose absence from error messages the fuzz
// targets check: a fuzzed passphrase can be any string, including words the messages use
// ("wrong passphrase"), so only marked ones are canaries.
const fuzzPassMarker = "CANARY-"

// exampleCert reads a file of examples/configs/certs for a seed.
func exampleCert(f *testing.F, name string) []byte {
	f.Helper()
	b, err := fs.ReadFile(examples.Configs, "certs/"+name)
	if err != nil {
		f.Fatalf("factory fuzz: %v", err)
	}
	return b
}

// checkNoPassphrase fails when err shows a marked passphrase that the inputs do not
// contain themselves (a certificate subject may legitimately be echoed).
func checkNoPassphrase(t *testing.T, err error, pass string, inputs ...[]byte) {
	t.Helper()
	if err == nil || !strings.HasPrefix(pass, fuzzPassMarker) {
		return
	}
	for _, in := range inputs {
		if strings.Contains(string(in), pass) {
			return
		}
	}
	if strings.Contains(err.Error(), pass) {
		t.Fatalf("factory: the error shows the passphrase: %v", err)
	}
}

// FuzzLoadKeyPair: a cert + key pair, or a PKCS#12 bundle when p12 is not empty, with a
// passphrase.
func FuzzLoadKeyPair(f *testing.F) {
	cert, key := exampleCert(f, "client.pem"), exampleCert(f, "client.key")
	enc, p12 := exampleCert(f, "client-enc.key"), exampleCert(f, "client.p12")
	pass := examples.Passphrase
	f.Add(cert, key, []byte(nil), "")
	f.Add(cert, enc, []byte(nil), pass)
	f.Add(cert, enc, []byte(nil), fuzzPassMarker+"not-the-passphrase")
	f.Add([]byte(nil), []byte(nil), p12, pass)
	f.Add([]byte(nil), []byte(nil), p12, fuzzPassMarker+"not-the-passphrase")
	f.Add(exampleCert(f, "riakcert.pem"), key, []byte(nil), "") // mismatch
	f.Add(append(append([]byte(nil), cert...), key...), []byte(nil), []byte(nil), "")
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
		[]byte("-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n"), []byte(nil), "")
	f.Add(cert, []byte("-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END EC PRIVATE KEY-----\n"),
		[]byte(nil), fuzzPassMarker+"x")
	f.Fuzz(func(t *testing.T, certData, keyData, p12Data []byte, passphrase string) {
		var pp *schema.SecretSource
		if passphrase != "" {
			pp = &schema.SecretSource{Value: schema.Secret(passphrase)}
		}
		var c, k, p *schema.MaterialSource
		if len(p12Data) > 0 {
			p = &schema.MaterialSource{Base64: b64(p12Data), Passphrase: pp}
		} else {
			if len(certData) > 0 {
				c = &schema.MaterialSource{Base64: b64(certData)}
			}
			if len(keyData) > 0 {
				k = &schema.MaterialSource{Base64: b64(keyData), Passphrase: pp}
			}
		}
		tc, _, err := factory.LoadKeyPair("profiles.fuzz.tls", c, k, p)
		checkNoPassphrase(t, err, passphrase, certData, keyData, p12Data)
		if err == nil && tc != nil {
			if len(tc.Certificate) == 0 || tc.Leaf == nil || tc.PrivateKey == nil {
				t.Fatalf("factory: LoadKeyPair accepted an incomplete pair: %d certs, leaf %v", len(tc.Certificate), tc.Leaf != nil)
			}
		}
	})
}

func FuzzLoadCertPool(f *testing.F) {
	f.Add(exampleCert(f, "ca.pem"))
	f.Add(exampleCert(f, "intermediate.pem"))
	f.Add(exampleCert(f, "client.pem")) // not a CA
	der, _ := pem.Decode(exampleCert(f, "ca.pem"))
	f.Add(der.Bytes)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN X509 CRL-----\n-----END X509 CRL-----\n"))
	f.Add([]byte("junk"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pool, certs, err := factory.LoadCertPool("profiles.fuzz.tls.ca",
			[]schema.MaterialSource{{Base64: b64(data)}})
		if err == nil && (pool == nil || len(certs) == 0) {
			t.Fatalf("factory: LoadCertPool accepted a source without a certificate (%d certs)", len(certs))
		}
	})
}

// FuzzParseCRLs: a CRL source, checked against the CA certificates found in ca.
func FuzzParseCRLs(f *testing.F) {
	crl, inter, root := exampleCert(f, "crl.pem"), exampleCert(f, "intermediate.pem"), exampleCert(f, "ca.pem")
	f.Add(crl, inter)
	f.Add(crl, root) // not the issuer
	f.Add(crl, []byte(nil))
	der, _ := pem.Decode(crl)
	f.Add(der.Bytes, inter)
	f.Add(append(append([]byte(nil), crl...), crl...), inter)
	f.Add([]byte("-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n"), inter)
	f.Add([]byte("junk"), []byte("junk"))
	now := time.Now()
	f.Fuzz(func(t *testing.T, crlData, caData []byte) {
		var cas []*x509.Certificate
		for rest := caData; ; {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			if c, err := x509.ParseCertificate(b.Bytes); err == nil {
				cas = append(cas, c)
			}
		}
		srcs := []schema.MaterialSource{{Base64: b64(crlData)}}
		for _, stale := range []schema.CRLStale{schema.CRLStaleFail, schema.CRLStaleWarn} {
			set, _, err := factory.ParseCRLs("profiles.fuzz.tls.crl", srcs, cas, now, stale)
			if err == nil && set != nil {
				_ = set.Len()
				// A chain the set knows nothing about must not make it panic.
				_ = set.Check([][]*x509.Certificate{cas}, now, "fuzz:1")
			}
		}
	})
}

// FuzzParseCiphers: a cipher string as written in a profile, which the loaders split at
// ':' and ','; ParseCiphers also takes colon strings whole.
func FuzzParseCiphers(f *testing.F) {
	f.Add("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384", false)
	f.Add("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_AES_128_GCM_SHA256", false)
	f.Add("ECDHE-RSA-DES-CBC3-SHA:AES128-SHA", true)
	f.Add("HIGH:!aNULL:@SECLEVEL=2:+RC4", false)
	f.Add("ecdhe-rsa-chacha20-poly1305", false)
	f.Add(":::", false)
	f.Add("NO-SUCH-CIPHER", false)
	known := map[uint16]bool{}
	insecure := map[uint16]bool{}
	for _, s := range tls.CipherSuites() {
		known[s.ID] = true
	}
	for _, s := range tls.InsecureCipherSuites() {
		known[s.ID], insecure[s.ID] = true, true
	}
	f.Fuzz(func(t *testing.T, s string, allowInsecure bool) {
		var split []string
		for _, n := range strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' }) {
			if n = strings.TrimSpace(n); n != "" {
				split = append(split, n)
			}
		}
		for _, names := range [][]string{{s}, split} {
			ids, _, err := factory.ParseCiphers(names, allowInsecure)
			if err != nil {
				continue
			}
			for _, id := range ids {
				if !known[id] {
					t.Fatalf("factory: ParseCiphers(%q) returned suite %#04x, which crypto/tls does not implement", names, id)
				}
				if insecure[id] && !allowInsecure {
					t.Fatalf("factory: ParseCiphers(%q) returned insecure suite %s without allow_insecure_ciphers", names, tls.CipherSuiteName(id))
				}
			}
		}
	})
}
