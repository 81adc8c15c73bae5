package schema

import (
	"iter"
	"strings"
)

// Sources yields every material source of t with its config path relative to the tls
// section, in this order: ca[0], ca[1], ..., cert, key, pkcs12, crl[0], crl[1], ...
// Absent sources are skipped; the pointers are t's own (a resolver reads them, it never
// writes them: resolved material is kept apart, by these paths). A nil t yields nothing. Passphrases are inside their sources
// (MaterialSource.Passphrase, path `KEY.passphrase`).
func (t *TLS) Sources() iter.Seq2[string, *MaterialSource] {
	return func(yield func(string, *MaterialSource) bool) {
		if t == nil {
			return
		}
		for i := range t.CA {
			if !yield(listPath("ca", i), &t.CA[i]) {
				return
			}
		}
		for _, s := range []struct {
			key string
			m   *MaterialSource
		}{{"cert", t.Cert}, {"key", t.Key}, {"pkcs12", t.PKCS12}} {
			if s.m != nil && !yield(s.key, s.m) {
				return
			}
		}
		for i := range t.CRL {
			if !yield(listPath("crl", i), &t.CRL[i]) {
				return
			}
		}
	}
}

// IsCAPath reports whether a path from TLS.Sources is a CA's (ca[i]): the one kind of
// source "system" is accepted for.
func IsCAPath(path string) bool { return strings.HasPrefix(path, "ca[") }

// Secrets yields every secret source of a with its config path relative to the auth
// section: password, then per_host[i].password. Absent ones are skipped; a nil a yields
// nothing.
func (a *Auth) Secrets() iter.Seq2[string, *SecretSource] {
	return func(yield func(string, *SecretSource) bool) {
		if a == nil {
			return
		}
		if a.Password != nil && !yield("password", a.Password) {
			return
		}
		for i := range a.PerHost {
			if p := a.PerHost[i].Password; p != nil && !yield(listPath("per_host", i)+".password", p) {
				return
			}
		}
	}
}
