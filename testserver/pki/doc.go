// Package pki makes throwaway public-key infrastructure in memory: root and
// intermediate CAs, server and client certificates, private keys in every
// encoding the factory must read (PKCS#8, encrypted PKCS#8, legacy encrypted
// PEM, PKCS#12) and CRLs.
//
// It is the net/http/httptest of certificates: the tests, the CLI demo and the
// sandbox all build their TLS material with it, so it deliberately does not
// import package testing and reports every failure as an error for the
// caller to handle.
//
// Keys are ECDSA P-256 unless a [LeafOptions] asks for [RSA2048]: RSA key
// generation costs tens of milliseconds per key, ECDSA microseconds, and a
// test suite builds hundreds of them.
//
// # Expired and not-yet-valid certificates
//
// There is no special constructor for them: a certificate is expired when
// [LeafOptions.NotAfter] is in the past and not yet valid when
// [LeafOptions.NotBefore] is in the future. [LeafOptions.Expired] and
// [LeafOptions.NotYetValid] set those windows for you:
//
//	leaf, err := set.Intermediate.Issue(pki.LeafOptions{
//		CommonName: "localhost",
//		DNSNames:   []string{"localhost"},
//		Server:     true,
//		NotBefore:  time.Now().Add(-48 * time.Hour),
//		NotAfter:   time.Now().Add(-24 * time.Hour), // expired yesterday
//	})
//
// # Revocation
//
// [CA.CRL] signs a CRL listing any number of serials: a 100,000-entry CRL
// takes about 10 ms, so benchmarks can build one per run. A NextUpdate in
// the past makes a stale CRL.
package pki
