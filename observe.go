package connfactory

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/connfactory/connfactory/factory"
)

// observerList fans a Registry's dial, check and reload events out to the observers
// added with AddObserver, whenever they were added: every connector the Registry compiles
// reports to it (factory.WithObserver).
type observerList struct {
	mu   sync.Mutex // serialises add
	list atomic.Pointer[[]factory.Observer]
}

func (l *observerList) add(o factory.Observer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var next []factory.Observer
	if cur := l.list.Load(); cur != nil {
		next = slices.Clone(*cur)
	}
	next = append(next, o)
	l.list.Store(&next)
}

func (l *observerList) each(f func(factory.Observer)) {
	if cur := l.list.Load(); cur != nil {
		for _, o := range *cur {
			f(o)
		}
	}
}

// DialDone implements factory.Observer.
func (l *observerList) DialDone(e factory.DialEvent) {
	l.each(func(o factory.Observer) { o.DialDone(e) })
}

// ReloadDone implements factory.Observer.
func (l *observerList) ReloadDone(e factory.ReloadEvent) {
	l.each(func(o factory.Observer) { o.ReloadDone(e) })
}

// AddObserver has o told of every dial, check and reload of the Registry's connectors,
// those compiled already and those compiled later (see factory.Observer). Package metrics
// uses it; o's methods must be safe for concurrent use and quick.
func (r *Registry) AddObserver(o factory.Observer) {
	if o != nil {
		r.observers.add(o)
	}
}

// Compiled returns the connectors the Registry has compiled so far, by profile name
// (sorted). Closing the Registry empties it.
func (r *Registry) Compiled() []factory.Connector {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]factory.Connector, 0, len(r.connectors))
	for _, c := range r.connectors {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b factory.Connector) int { return cmp.Compare(a.Name(), b.Name()) })
	return out
}
