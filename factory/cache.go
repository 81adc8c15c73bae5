package factory

import (
	"crypto/sha256"
	"crypto/x509"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"weak"
)

// MaterialCache shares parsed TLS material between the profiles compiled with it, so that
// 10,000 profiles naming the same CA bundle and CRL parse each once instead of 10,000
// times, and hold one copy in memory instead of 10,000.
//
// Entries are keyed by the SHA-256 of the material's bytes (and what kind of material
// they are), never by file name: a reload that reads new bytes gets a new parse, one that
// reads the same bytes gets the shared one. What is shared is immutable once built (a
// CertPool is never added to after it is cached; a CRL's index is read-only, its
// signature memo is a pure function of CRL and signer), so profiles may use it
// concurrently.
//
// Only CA bundles and CRLs are cached. Client key pairs are not: they are usually one per
// profile, and caching a decrypted private key by its content would keep secret material
// alive in a process-wide structure after the connector that needed it is gone.
//
// The cache holds its entries weakly: an entry lives as long as some compiled profile
// uses it, and is dropped by the garbage collector after the last one is closed or
// reloaded past it (CRLs are replaced often and can be megabytes). So it needs no bound.
// A nil *MaterialCache is valid and caches nothing. It is safe for concurrent use; a
// connfactory.Registry owns one for its lifetime.
type MaterialCache struct {
	mu      sync.Mutex
	entries map[cacheKey]weakRef

	hits   atomic.Uint64
	parses atomic.Uint64

	// While a Batch runs (batches > 0), memo remembers the digest of every byte slice
	// hashed, by the address of its first byte (the slice is held, so the address cannot
	// be reused meanwhile); guarded by mu.
	batches int
	memo    map[*byte]digestMemo
	// strs interns warning texts while a Batch runs; guarded by mu.
	strs map[string]string
}

type digestMemo struct {
	data []byte
	sum  [sha256.Size]byte
}

// Batch runs f while the cache remembers the SHA-256 of each byte slice it hashes, by the
// slice's address and length, so that profiles sharing one loaded copy of a file (the
// loaders read each file once per load) hash it once, not once each: 100,000 profiles
// naming one 1,000-entry CRL spent a tenth of their compile time hashing it. Material
// bytes must not change while f runs. The memo is dropped when the last Batch returns.
// connfactory.Registry compiles its profiles in one batch. Nil-safe.
func (c *MaterialCache) Batch(f func()) {
	if c == nil {
		f()
		return
	}
	c.mu.Lock()
	c.batches++
	if c.memo == nil {
		c.memo, c.strs = map[*byte]digestMemo{}, map[string]string{}
	}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.batches--; c.batches == 0 {
			c.memo, c.strs = nil, nil
		}
		c.mu.Unlock()
	}()
	f()
}

// intern returns s, or while a Batch runs the first string equal to s that it saw: the
// warnings of 100,000 profiles naming one CRL due for renewal share one text. Nil-safe.
func (c *MaterialCache) intern(s string) string {
	if c == nil {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.strs == nil {
		return s
	}
	if v, ok := c.strs[s]; ok {
		return v
	}
	c.strs[s] = s
	return s
}

// digest is the SHA-256 of data, remembered while a Batch runs.
func (c *MaterialCache) digest(data []byte) [sha256.Size]byte {
	if c == nil || len(data) == 0 {
		return sha256.Sum256(data)
	}
	c.mu.Lock()
	e, ok := c.memo[&data[0]]
	batch := c.memo != nil
	c.mu.Unlock()
	if ok && len(e.data) == len(data) {
		return e.sum
	}
	sum := sha256.Sum256(data)
	if batch {
		c.mu.Lock()
		if c.memo != nil {
			c.memo[&data[0]] = digestMemo{data: data, sum: sum}
		}
		c.mu.Unlock()
	}
	return sum
}

// NewMaterialCache returns an empty cache; pass it to every Compile with WithMaterialCache.
func NewMaterialCache() *MaterialCache {
	return &MaterialCache{entries: map[cacheKey]weakRef{}}
}

// WithMaterialCache makes compilation (and reloads of the compiled connector) take parsed
// CA bundles and CRLs from c, sharing them with every other profile compiled with c.
// Without it every profile parses its own material.
func WithMaterialCache(c *MaterialCache) Option { return func(o *options) { o.cache = c } }

// cacheKind separates the kinds of parse, so the same bytes named as a CA and as a CRL
// do not collide.
type cacheKind byte

const (
	kindCerts      cacheKind = iota + 1 // one CA source's certificates
	kindBundle                          // a whole ca list: pool and certificates
	kindCRL                             // one CRL source's CRLs
	kindCRLIssuers                      // the issuer index of a crlSet's accepted CRLs
	kindTrustStore                      // one trust store's certificates (keyed with its password)
)

type cacheKey struct {
	kind cacheKind
	sum  [sha256.Size]byte
}

// weakRef is a typed weak pointer with its type erased, so one map holds every kind.
type weakRef interface{ dead() bool }

type ref[T any] struct{ p weak.Pointer[T] }

func (r ref[T]) dead() bool { return r.p.Value() == nil }

// cached returns the entry for k, or parses it with parse and adds it. With a nil cache
// it just parses. Parsing runs outside the lock (a 100,000-entry CRL takes tens of
// milliseconds and must not hold up other profiles); when two compiles race on the same
// key, the first stored parse wins and both share it.
func cached[T any](c *MaterialCache, k cacheKey, parse func() *T) *T {
	if c == nil {
		return parse()
	}
	if v := load[T](c, k); v != nil {
		c.hits.Add(1)
		return v
	}
	v := parse()
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.entries[k]; ok {
		if old := r.(ref[T]).p.Value(); old != nil {
			c.hits.Add(1)
			return old
		}
	}
	c.entries[k] = ref[T]{weak.Make(v)}
	c.parses.Add(1)
	runtime.AddCleanup(v, c.drop, k)
	return v
}

func load[T any](c *MaterialCache, k cacheKey) *T {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.entries[k]; ok {
		return r.(ref[T]).p.Value()
	}
	return nil
}

// drop removes k once its value has been collected, unless a new parse replaced it.
func (c *MaterialCache) drop(k cacheKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.entries[k]; ok && r.dead() {
		delete(c.entries, k)
	}
}

// parsedCerts is the parse of one CA source.
type parsedCerts struct {
	sum   [sha256.Size]byte // zero without a cache
	certs []*x509.Certificate
	err   error // carries no path or source name: one parse serves every profile
}

// certs parses one CA source's bytes.
func (c *MaterialCache) certs(data []byte) *parsedCerts {
	if c == nil {
		certs, err := parseCertificates(data)
		return &parsedCerts{certs: certs, err: err}
	}
	k := cacheKey{kind: kindCerts, sum: c.digest(data)}
	return cached(c, k, func() *parsedCerts {
		certs, err := parseCertificates(data)
		return &parsedCerts{sum: k.sum, certs: slices.Clip(certs), err: err}
	})
}

// caBundle is a whole ca list compiled: the pool verification uses and the certificates
// CRL signatures are checked against. Neither may be modified: profiles share them.
type caBundle struct {
	pool  *x509.CertPool
	certs []*x509.Certificate
	parts []*parsedCerts // keeps the per-source parses alive as long as the bundle is
	err   error
}

// bundle builds the pool of parts (plus the system pool when system is set).
func (c *MaterialCache) bundle(system bool, parts []*parsedCerts) *caBundle {
	build := func() *caBundle {
		b := &caBundle{pool: x509.NewCertPool(), parts: parts}
		if system {
			sp, err := x509.SystemCertPool()
			if err != nil {
				b.err = err
				return b
			}
			b.pool = sp
		}
		for _, p := range parts {
			b.certs = append(b.certs, p.certs...)
		}
		b.certs = slices.Clip(b.certs)
		for _, cert := range b.certs {
			b.pool.AddCert(cert)
		}
		return b
	}
	if c == nil {
		return build()
	}
	h := sha256.New()
	if system {
		h.Write([]byte{1})
	} else {
		h.Write([]byte{0})
	}
	for _, p := range parts {
		h.Write(p.sum[:])
	}
	k := cacheKey{kind: kindBundle}
	h.Sum(k.sum[:0])
	return cached(c, k, build)
}

// crls parses one CRL source's bytes.
func (c *MaterialCache) crls(data []byte) *parsedCRLs {
	if c == nil {
		return parseCRLSource(data)
	}
	k := cacheKey{kind: kindCRL, sum: c.digest(data)}
	return cached(c, k, func() *parsedCRLs {
		p := parseCRLSource(data)
		p.sum = k.sum
		return p
	})
}
