package factory_test

import (
	"crypto/tls"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/schema"
)

func TestParseCiphers(t *testing.T) {
	ids, warns, err := factory.ParseCiphers([]string{
		"ECDHE-RSA-AES128-GCM-SHA256:ecdhe-ecdsa-aes256-gcm-sha384",
		"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
		"tls_ecdhe_rsa_with_aes_128_gcm_sha256", // a duplicate in the other spelling
	}, false)
	require.NoError(t, err)
	require.Empty(t, warns)
	require.Equal(t, []uint16{
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	}, ids)

	// Every name Go implements maps to itself through its IANA name.
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		ids, _, err := factory.ParseCiphers([]string{cs.Name}, true)
		require.NoError(t, err, cs.Name)
		if cs.SupportedVersions[0] == tls.VersionTLS13 {
			require.Empty(t, ids)
			continue
		}
		require.Equal(t, []uint16{cs.ID}, ids, cs.Name)
		require.NotEmpty(t, factory.CipherSuiteOpenSSLName(cs.ID), cs.Name)
	}

	_, _, err = factory.ParseCiphers([]string{"ECDHE-RSA-AES128-GCM-SHA256:BOGUS-CIPHER"}, false)
	require.ErrorContains(t, err, `unknown cipher suites: "BOGUS-CIPHER"`)
	require.ErrorContains(t, err, "accepted: ")
	require.ErrorContains(t, err, "ECDHE-ECDSA-AES128-GCM-SHA256")

	_, _, err = factory.ParseCiphers([]string{"DHE-RSA-AES128-GCM-SHA256"}, false)
	require.ErrorContains(t, err, "not implemented by Go")

	_, _, err = factory.ParseCiphers([]string{"HIGH:!aNULL"}, false)
	require.ErrorContains(t, err, "keywords")

	_, _, err = factory.ParseCiphers([]string{"AES128-GCM-SHA256"}, false)
	require.ErrorContains(t, err, "allow_insecure_ciphers")
	ids, warns, err = factory.ParseCiphers([]string{"AES128-GCM-SHA256", "DES-CBC3-SHA"}, true)
	require.NoError(t, err)
	require.Equal(t, []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}, ids)
	require.Len(t, warns, 2)

	ids, warns, err = factory.ParseCiphers([]string{"TLS_AES_128_GCM_SHA256"}, false)
	require.NoError(t, err)
	require.Empty(t, ids)
	require.Len(t, warns, 1)
	require.Contains(t, warns[0].Message, "TLS 1.3")
}

func TestCipherNames(t *testing.T) {
	names := factory.CipherNames()
	require.True(t, sort.StringsAreSorted(names))
	require.Contains(t, names, "ECDHE-RSA-AES128-GCM-SHA256")
	require.Contains(t, names, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
	require.NotContains(t, names, "DHE-RSA-AES128-GCM-SHA256", "Go does not implement it")
	for _, n := range names {
		_, _, err := factory.ParseCiphers([]string{strings.ToLower(n)}, true)
		require.NoError(t, err, n)
	}
}

func TestCipherWarningsInCompile(t *testing.T) {
	S := factorytest.NewPKI(t)
	_, warns := compile(t, &schema.TLS{CA: caOf(S.Root), Ciphers: []string{"ECDHE-ECDSA-AES128-GCM-SHA256"}})
	require.True(t, hasWarning(warns, "profiles.p.tls.ciphers", "TLS 1.3"), "%v", warns)

	_, warns = compile(t, &schema.TLS{CA: caOf(S.Root), Ciphers: []string{"ECDHE-ECDSA-AES128-GCM-SHA256"}, MaxVersion: "1.2"})
	require.Empty(t, warns)

	_, warns = compile(t, &schema.TLS{CA: caOf(S.Root), Ciphers: []string{"ECDHE-ECDSA-AES128-GCM-SHA256"}, MinVersion: "1.3"})
	require.True(t, hasWarning(warns, "profiles.p.tls.ciphers", "no effect"), "%v", warns)

	msg := compileErr(t, &schema.TLS{CA: caOf(S.Root), Ciphers: []string{"RC4-SHA"}})
	require.Contains(t, msg, "profiles.p.tls.ciphers")
	require.Contains(t, msg, "allow_insecure_ciphers")
	_, warns = compile(t, &schema.TLS{CA: caOf(S.Root), Ciphers: []string{"RC4-SHA"}, AllowInsecureCiphers: true, MaxVersion: "1.2"})
	require.True(t, hasWarning(warns, "profiles.p.tls.ciphers", "insecure"), "%v", warns)
}
