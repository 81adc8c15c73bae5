// Package leakcheck is the one goroutine-leak rule of connfactory's tests: goleak, minus
// the one goroutine gocql itself leaks, and patient with gocql's goroutines that end a
// moment after Session.Close. Only tests import it.
package leakcheck

import (
	"testing"

	"go.uber.org/goleak"
)

// GocqlHeartbeat ignores gocql v2.1.2's control-connection heartbeat when a session is
// closed before that goroutine has started: controlConn.close sends on quit only once the
// heartbeat has marked itself started (control.go: heartBeat's CAS vs close's CAS), so the
// goroutine then never ends. An upstream race our code cannot order away; nothing of ours
// runs in it.
var GocqlHeartbeat = goleak.IgnoreAnyFunction("github.com/apache/cassandra-gocql-driver/v2.(*controlConn).heartBeat")

// Main is goleak.VerifyTestMain with GocqlHeartbeat: m is the package's *testing.M, or
// one wrapped (opensslbin.Wrap).
func Main(m goleak.TestingM) { goleak.VerifyTestMain(m, GocqlHeartbeat) }

// Verify fails t, at its cleanup, if goroutines started during the test are still running.
// gocql's pool goroutines end a moment after Close, later on a loaded machine; one
// goleak.Find polls about a second, so a few rounds are polled before calling it a leak.
func Verify(t testing.TB) {
	t.Helper()
	opts := []goleak.Option{goleak.IgnoreCurrent(), GocqlHeartbeat}
	t.Cleanup(func() {
		for i := 0; i < 10 && goleak.Find(opts...) != nil; i++ {
		}
		goleak.VerifyNone(t, opts...)
	})
}
