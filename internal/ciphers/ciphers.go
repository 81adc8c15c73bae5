// Package ciphers maps cipher suite names, as profiles write them (OpenSSL or IANA
// spellings), to crypto/tls IDs: the rule package factory compiles tls.ciphers with and
// internal/importer checks imported names against. Standard library and schema only.
package ciphers

import (
	"crypto/tls"
	"fmt"
	"sort"
	"strings"

	"github.com/connfactory/connfactory/schema"
)

// cipherInfo is one row of the cipher table: a suite known by its OpenSSL and IANA names.
// No Go module maps OpenSSL names (the vocabulary of Riak's docs and of most server
// configs) to IANA ones reliably, so the table is ours. Suites Go does not implement are
// listed too, so that a name copied from an OpenSSL config is refused as "not implemented
// by Go" rather than "unknown".
type cipherInfo struct {
	openssl string
	iana    string
	id      uint16
	tls13   bool
	goImpl  bool // implemented by crypto/tls
	unsafe  bool // listed by tls.InsecureCipherSuites
}

// cipherTable: implemented suites get goImpl/unsafe/tls13 from crypto/tls in init, so the
// table cannot drift from what the running Go actually offers.
var cipherTable = []cipherInfo{
	// TLS 1.3: OpenSSL uses the IANA names.
	{openssl: "TLS_AES_128_GCM_SHA256", iana: "TLS_AES_128_GCM_SHA256", id: 0x1301},
	{openssl: "TLS_AES_256_GCM_SHA384", iana: "TLS_AES_256_GCM_SHA384", id: 0x1302},
	{openssl: "TLS_CHACHA20_POLY1305_SHA256", iana: "TLS_CHACHA20_POLY1305_SHA256", id: 0x1303},
	{openssl: "TLS_AES_128_CCM_SHA256", iana: "TLS_AES_128_CCM_SHA256", id: 0x1304},
	{openssl: "TLS_AES_128_CCM_8_SHA256", iana: "TLS_AES_128_CCM_8_SHA256", id: 0x1305},

	// ECDHE, AEAD.
	{openssl: "ECDHE-ECDSA-AES128-GCM-SHA256", iana: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", id: 0xc02b},
	{openssl: "ECDHE-ECDSA-AES256-GCM-SHA384", iana: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", id: 0xc02c},
	{openssl: "ECDHE-RSA-AES128-GCM-SHA256", iana: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", id: 0xc02f},
	{openssl: "ECDHE-RSA-AES256-GCM-SHA384", iana: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", id: 0xc030},
	{openssl: "ECDHE-RSA-CHACHA20-POLY1305", iana: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", id: 0xcca8},
	{openssl: "ECDHE-ECDSA-CHACHA20-POLY1305", iana: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", id: 0xcca9},
	{openssl: "ECDHE-ECDSA-AES128-CCM", iana: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", id: 0xc0ac},
	{openssl: "ECDHE-ECDSA-AES256-CCM", iana: "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", id: 0xc0ad},
	{openssl: "ECDHE-ECDSA-AES128-CCM8", iana: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", id: 0xc0ae},
	{openssl: "ECDHE-ECDSA-AES256-CCM8", iana: "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8", id: 0xc0af},

	// ECDHE, CBC.
	{openssl: "ECDHE-ECDSA-AES128-SHA", iana: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", id: 0xc009},
	{openssl: "ECDHE-ECDSA-AES256-SHA", iana: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", id: 0xc00a},
	{openssl: "ECDHE-RSA-AES128-SHA", iana: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", id: 0xc013},
	{openssl: "ECDHE-RSA-AES256-SHA", iana: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", id: 0xc014},
	{openssl: "ECDHE-ECDSA-AES128-SHA256", iana: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", id: 0xc023},
	{openssl: "ECDHE-ECDSA-AES256-SHA384", iana: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", id: 0xc024},
	{openssl: "ECDHE-RSA-AES128-SHA256", iana: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", id: 0xc027},
	{openssl: "ECDHE-RSA-AES256-SHA384", iana: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", id: 0xc028},
	{openssl: "ECDHE-RSA-DES-CBC3-SHA", iana: "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", id: 0xc012},
	{openssl: "ECDHE-ECDSA-DES-CBC3-SHA", iana: "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", id: 0xc008},
	{openssl: "ECDHE-ECDSA-RC4-SHA", iana: "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", id: 0xc007},
	{openssl: "ECDHE-RSA-RC4-SHA", iana: "TLS_ECDHE_RSA_WITH_RC4_128_SHA", id: 0xc011},

	// RSA key exchange (no forward secrecy).
	{openssl: "AES128-GCM-SHA256", iana: "TLS_RSA_WITH_AES_128_GCM_SHA256", id: 0x009c},
	{openssl: "AES256-GCM-SHA384", iana: "TLS_RSA_WITH_AES_256_GCM_SHA384", id: 0x009d},
	{openssl: "AES128-SHA", iana: "TLS_RSA_WITH_AES_128_CBC_SHA", id: 0x002f},
	{openssl: "AES256-SHA", iana: "TLS_RSA_WITH_AES_256_CBC_SHA", id: 0x0035},
	{openssl: "AES128-SHA256", iana: "TLS_RSA_WITH_AES_128_CBC_SHA256", id: 0x003c},
	{openssl: "AES256-SHA256", iana: "TLS_RSA_WITH_AES_256_CBC_SHA256", id: 0x003d},
	{openssl: "AES128-CCM", iana: "TLS_RSA_WITH_AES_128_CCM", id: 0xc09c},
	{openssl: "AES256-CCM", iana: "TLS_RSA_WITH_AES_256_CCM", id: 0xc09d},
	{openssl: "DES-CBC3-SHA", iana: "TLS_RSA_WITH_3DES_EDE_CBC_SHA", id: 0x000a},
	{openssl: "RC4-SHA", iana: "TLS_RSA_WITH_RC4_128_SHA", id: 0x0005},
	{openssl: "RC4-MD5", iana: "TLS_RSA_WITH_RC4_128_MD5", id: 0x0004},

	// Finite-field DHE (Go implements none of them).
	{openssl: "DHE-RSA-AES128-GCM-SHA256", iana: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", id: 0x009e},
	{openssl: "DHE-RSA-AES256-GCM-SHA384", iana: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", id: 0x009f},
	{openssl: "DHE-DSS-AES128-GCM-SHA256", iana: "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256", id: 0x00a2},
	{openssl: "DHE-DSS-AES256-GCM-SHA384", iana: "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384", id: 0x00a3},
	{openssl: "DHE-RSA-CHACHA20-POLY1305", iana: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", id: 0xccaa},
	{openssl: "DHE-RSA-AES128-SHA", iana: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", id: 0x0033},
	{openssl: "DHE-RSA-AES256-SHA", iana: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", id: 0x0039},
	{openssl: "DHE-RSA-AES128-SHA256", iana: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", id: 0x0067},
	{openssl: "DHE-RSA-AES256-SHA256", iana: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", id: 0x006b},
	{openssl: "DHE-DSS-AES128-SHA", iana: "TLS_DHE_DSS_WITH_AES_128_CBC_SHA", id: 0x0032},
	{openssl: "DHE-DSS-AES256-SHA", iana: "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", id: 0x0038},
	{openssl: "DHE-DSS-AES128-SHA256", iana: "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256", id: 0x0040},
	{openssl: "DHE-DSS-AES256-SHA256", iana: "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256", id: 0x006a},
	{openssl: "EDH-RSA-DES-CBC3-SHA", iana: "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", id: 0x0016},
	{openssl: "DHE-RSA-AES128-CCM", iana: "TLS_DHE_RSA_WITH_AES_128_CCM", id: 0xc09e},
	{openssl: "DHE-RSA-AES256-CCM", iana: "TLS_DHE_RSA_WITH_AES_256_CCM", id: 0xc09f},
}

// cipherAliases are other spellings seen in the wild: the IANA names Go used before 1.17,
// and OpenSSL's newer DHE spelling of an old suite.
var cipherAliases = map[string]string{
	"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305":   "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	"DHE-RSA-DES-CBC3-SHA":                   "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
}

// cipherByName maps every accepted spelling, upper-cased, to its table row.
var cipherByName = map[string]*cipherInfo{}

// cipherByID maps implemented suite IDs to their table row.
var cipherByID = map[uint16]*cipherInfo{}

func init() {
	impl := map[uint16]*tls.CipherSuite{}
	for _, cs := range tls.CipherSuites() {
		impl[cs.ID] = cs
	}
	for _, cs := range tls.InsecureCipherSuites() {
		impl[cs.ID] = cs
	}
	for i := range cipherTable {
		ci := &cipherTable[i]
		if cs, ok := impl[ci.id]; ok {
			ci.goImpl = true
			ci.unsafe = cs.Insecure
			ci.tls13 = len(cs.SupportedVersions) == 1 && cs.SupportedVersions[0] == tls.VersionTLS13
			cipherByID[ci.id] = ci
		} else if ci.id>>8 == 0x13 {
			ci.tls13 = true
		}
		cipherByName[ci.openssl] = ci
		cipherByName[ci.iana] = ci
	}
	for alias, name := range cipherAliases {
		cipherByName[alias] = cipherByName[name]
	}
}

// openSSLKeywords are cipher-string keywords OpenSSL expands to suite lists; we accept
// suite names only, because what a keyword expands to depends on the OpenSSL build.
var openSSLKeywords = map[string]bool{
	"ALL": true, "DEFAULT": true, "HIGH": true, "MEDIUM": true, "LOW": true, "COMPLEMENTOFALL": true,
	"COMPLEMENTOFDEFAULT": true, "ANULL": true, "ENULL": true, "NULL": true, "KRSA": true, "AES": true,
	"AESGCM": true, "CHACHA20": true, "ECDHE": true, "EECDH": true, "EDH": true, "DHE": true, "RSA": true,
	"ECDSA": true, "SSLV3": true, "TLSV1": true, "TLSV1.2": true, "SECLEVEL": true,
}

// Names returns every cipher suite name Parse accepts (OpenSSL and IANA
// spellings of the suites Go implements, the insecure ones included), sorted.
func Names() []string {
	var out []string
	for i := range cipherTable {
		ci := &cipherTable[i]
		if !ci.goImpl {
			continue
		}
		out = append(out, ci.openssl)
		if ci.iana != ci.openssl {
			out = append(out, ci.iana)
		}
	}
	sort.Strings(out)
	return out
}

// secureCipherNames lists the accepted names of the suites usable without
// allow_insecure_ciphers, for error messages.
func secureCipherNames() []string {
	var out []string
	for _, n := range Names() {
		if !cipherByName[n].unsafe {
			out = append(out, n)
		}
	}
	return out
}

// OpenSSLName returns the OpenSSL name of suite id ("" if the table does not
// know it), for reports and for configuring OpenSSL peers.
func OpenSSLName(id uint16) string {
	if ci, ok := cipherByID[id]; ok {
		return ci.openssl
	}
	return ""
}

// splitCipherList splits configured elements further at colons, commas and spaces, the
// separators OpenSSL accepts in a cipher string.
func splitCipherList(names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, strings.FieldsFunc(n, func(r rune) bool {
			return r == ':' || r == ',' || r == ' ' || r == '\t' || r == '\n'
		})...)
	}
	return out
}

// Parse maps cipher suite names to crypto/tls IDs. Each element may hold several
// names separated by colons (OpenSSL's cipher-string form); names are OpenSSL or IANA
// spellings, case-insensitive. TLS 1.3 suite names are accepted and ignored with a
// warning, because Go does not let TLS 1.3 suites be chosen. Unknown names, names Go does
// not implement, and suites Go calls insecure (unless allowInsecure) are errors that list
// what is accepted. The returned warnings carry no path; the caller adds it.
func Parse(names []string, allowInsecure bool) ([]uint16, []schema.Warning, error) {
	var (
		ids                            []uint16
		warns                          []schema.Warning
		unknown, notImpl, insecure, kw []string
		only13                         []string
		seen                           = map[uint16]bool{}
	)
	for _, raw := range splitCipherList(names) {
		name := strings.ToUpper(strings.TrimSpace(raw))
		ci, ok := cipherByName[name]
		switch {
		case !ok:
			base := strings.TrimLeft(name, "!+-@")
			if base != name || openSSLKeywords[base] || strings.HasPrefix(base, "SECLEVEL=") {
				kw = append(kw, raw)
			} else {
				unknown = append(unknown, raw)
			}
		case !ci.goImpl:
			notImpl = append(notImpl, raw)
		case ci.tls13:
			only13 = append(only13, raw)
		case ci.unsafe && !allowInsecure:
			insecure = append(insecure, raw)
		default:
			if ci.unsafe {
				warns = append(warns, schema.Warning{Message: fmt.Sprintf(
					"cipher %s is insecure (Go lists it in tls.InsecureCipherSuites); allowed by allow_insecure_ciphers", ci.openssl)})
			}
			if !seen[ci.id] {
				seen[ci.id] = true
				ids = append(ids, ci.id)
			}
		}
	}
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, fmt.Sprintf("unknown cipher suites: %s", quoteList(unknown)))
	}
	if len(kw) > 0 {
		msgs = append(msgs, fmt.Sprintf("OpenSSL cipher-string keywords and operators are not supported (%s): list suites by name", quoteList(kw)))
	}
	if len(notImpl) > 0 {
		msgs = append(msgs, fmt.Sprintf("cipher suites not implemented by Go's crypto/tls: %s", quoteList(notImpl)))
	}
	if len(insecure) > 0 {
		msgs = append(msgs, fmt.Sprintf("insecure cipher suites (set allow_insecure_ciphers = true to permit them): %s", quoteList(insecure)))
	}
	if len(msgs) > 0 {
		return nil, nil, fmt.Errorf("%s (accepted: %s; with allow_insecure_ciphers also: %s)",
			strings.Join(msgs, "; "), strings.Join(secureCipherNames(), ", "), strings.Join(insecureCipherNames(), ", "))
	}
	if len(only13) > 0 {
		msg := fmt.Sprintf("TLS 1.3 suites are always enabled by Go and cannot be chosen; ignored: %s", quoteList(only13))
		if len(ids) == 0 {
			msg += "; with no TLS 1.2 suite listed, TLS 1.2 uses Go's default suites (set min_version = \"1.3\" to refuse TLS 1.2)"
		}
		warns = append(warns, schema.Warning{Message: msg})
	}
	return ids, warns, nil
}

func insecureCipherNames() []string {
	var out []string
	for _, n := range Names() {
		if cipherByName[n].unsafe {
			out = append(out, n)
		}
	}
	return out
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}
