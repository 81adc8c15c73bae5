package factory

import (
	"container/list"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"sync"
	"time"
)

// sessionCacheSize bounds a connector's TLS session cache: the least recently used
// session is dropped beyond it. One entry serves one (dialled address, server name).
const sessionCacheSize = 256

// verdictCacheSize bounds the chain verdicts kept per material generation; beyond it the
// verdicts are dropped and rebuilt.
const verdictCacheSize = 1024

// sessionCache is a connector's TLS client session cache: a bounded LRU keyed by the
// dialled address and the server name (so that hosts sharing one server name do not
// evict each other's sessions), holding only sessions made with the current material
// generation. It also lets concurrent first connections to one server wait for the
// first one's session, so that a pool opening eight connections at once makes one full
// handshake and seven resumed ones.
type sessionCache struct {
	mu       sync.Mutex
	gen      uint64 // material generation the entries were made with
	ll       *list.List
	items    map[string]*list.Element
	inflight map[string]chan struct{} // keys whose first full handshake is under way
}

type sessionEntry struct {
	key string
	cs  *tls.ClientSessionState
}

// newSessionCache returns an empty cache; its list and maps are made on first use, since
// most compiled connectors (validate compiles every profile) never make a connection.
func newSessionCache() *sessionCache { return &sessionCache{} }

// syncGen drops every entry when gen moved on. Called with mu held, first thing by every
// method.
func (s *sessionCache) syncGen(gen uint64) {
	if s.ll == nil {
		s.ll, s.items, s.inflight = list.New(), map[string]*list.Element{}, map[string]chan struct{}{}
	}
	if gen > s.gen {
		s.gen = gen
		s.ll.Init()
		clear(s.items)
	}
}

func (s *sessionCache) get(key string, gen uint64) (*tls.ClientSessionState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncGen(gen)
	if gen != s.gen {
		return nil, false
	}
	e, ok := s.items[key]
	if !ok {
		return nil, false
	}
	s.ll.MoveToFront(e)
	return e.Value.(*sessionEntry).cs, true
}

// put caches cs, made by a handshake that started under material generation gen. A
// session of an older generation is dropped: it may carry the old client certificate or
// have been verified against the old CAs.
func (s *sessionCache) put(key string, gen uint64, cs *tls.ClientSessionState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncGen(gen)
	if gen != s.gen {
		return
	}
	if cs == nil { // crypto/tls drops a session the server refused to resume
		if e, ok := s.items[key]; ok {
			s.ll.Remove(e)
			delete(s.items, key)
		}
		return
	}
	if e, ok := s.items[key]; ok {
		e.Value.(*sessionEntry).cs = cs
		s.ll.MoveToFront(e)
	} else {
		s.items[key] = s.ll.PushFront(&sessionEntry{key: key, cs: cs})
		if s.ll.Len() > sessionCacheSize {
			last := s.ll.Back()
			s.ll.Remove(last)
			delete(s.items, last.Value.(*sessionEntry).key)
		}
	}
	if ch, ok := s.inflight[key]; ok {
		close(ch)
		delete(s.inflight, key)
	}
}

// acquire is called before a handshake for key. With a session cached it returns at once.
// Otherwise the first caller leads: it gets a release func to call once its session is
// cached or can no longer come (handshake failed, first read done, connection closed).
// Later callers wait, once, for that release or ctx, then handshake whatever the cache
// holds: a server that issues no tickets costs one wait, not a queue.
func (s *sessionCache) acquire(ctx context.Context, key string, gen uint64) (release func()) {
	s.mu.Lock()
	s.syncGen(gen)
	if _, ok := s.items[key]; ok {
		s.mu.Unlock()
		return func() {}
	}
	if ch, ok := s.inflight[key]; ok {
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		return func() {}
	}
	ch := make(chan struct{})
	s.inflight[key] = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.inflight[key] == ch {
				close(ch)
				delete(s.inflight, key)
			}
		})
	}
}

// reset drops every session: new material must never resume a session made with the old.
func (s *sessionCache) reset(gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncGen(gen)
}

// keyedSessions is the tls.ClientSessionCache of one tls.Config: crypto/tls keys sessions
// by server name alone, this keys them by the dialled address too. gen is the material
// generation when the Config was made: a session a handshake puts is kept only if no
// Update happened since (the handshake may have used the old material). A Config made
// per connection (the dialer, the preflight) thus caches exactly the sessions of the
// current material; a long-lived one (a riak-go-client node's) stops adding sessions
// after an Update but still resumes those the connector's other handshakes cache.
type keyedSessions struct {
	c   *ClientTLS
	key string
	gen uint64
}

func (k keyedSessions) Get(string) (*tls.ClientSessionState, bool) {
	return k.c.sessions.get(k.key, k.c.Generation())
}

func (k keyedSessions) Put(_ string, cs *tls.ClientSessionState) {
	k.c.sessions.put(k.key, k.gen, cs)
}

// sessionKey is the session cache key of a connection to addr verifying name.
func sessionKey(addr, name string) string { return addr + "\x00" + name }

// verdicts are the chain verification results of one material generation, by the
// SHA-256 of the leaf: a resumed handshake presents the original certificates again, and
// re-running x509 chain building for them would only repeat the answer.
type verdicts struct {
	mu sync.Mutex
	m  map[[32]byte][][]*x509.Certificate
}

func (v *verdicts) get(leaf *x509.Certificate) ([][]*x509.Certificate, bool) {
	fp := sha256.Sum256(leaf.Raw)
	v.mu.Lock()
	defer v.mu.Unlock()
	chains, ok := v.m[fp]
	return chains, ok
}

func (v *verdicts) put(leaf *x509.Certificate, chains [][]*x509.Certificate) {
	fp := sha256.Sum256(leaf.Raw)
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil || len(v.m) >= verdictCacheSize {
		v.m = map[[32]byte][][]*x509.Certificate{}
	}
	v.m[fp] = chains
}

// currentChains keeps the chains every certificate of which is valid at now: a cached
// verdict is from an earlier handshake, and time has moved on since.
func currentChains(chains [][]*x509.Certificate, now time.Time) ([][]*x509.Certificate, *x509.Certificate) {
	var ok [][]*x509.Certificate
	var expired *x509.Certificate
	for _, ch := range chains {
		valid := true
		for _, cert := range ch {
			if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
				valid, expired = false, cert
				break
			}
		}
		if valid {
			ok = append(ok, ch)
		}
	}
	return ok, expired
}
