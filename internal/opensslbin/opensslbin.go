// Package opensslbin is the one rule the tests use to find the openssl command-line tool
// (Debian's openssl: a TLS stack and PEM/PKCS#12 reader not written in Go), and the one
// way they say when they skipped for lack of it.
//
// The rule: $PATH first, then /usr/bin/openssl and /usr/local/bin/openssl (a sudo or a
// minimal PATH may lack /usr/bin). Outside CI a test without openssl skips; with CI set
// it fails, since CI installs openssl. Main prints one line per package that skipped.
package opensslbin

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
)

// fallbacks are tried, in order, when openssl is not on $PATH.
var fallbacks = []string{"/usr/bin/openssl", "/usr/local/bin/openssl"}

// stdout is where Wrap prints its line (a variable for the package's own test).
var stdout io.Writer = os.Stdout

// Find returns the path of openssl by the package's rule, or an error saying where it
// looked.
func Find() (string, error) {
	if p, err := exec.LookPath("openssl"); err == nil {
		return p, nil
	}
	for _, p := range fallbacks {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("openssl not found on $PATH nor at %v", fallbacks)
}

// skipped counts the tests of this test binary that skipped for lack of openssl.
var skipped atomic.Int64

// Path returns openssl's path for t. Without openssl it fails t when the CI environment
// variable is set and skips t otherwise (counted for Main's summary line).
func Path(t testing.TB) string {
	t.Helper()
	p, err := Find()
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%v (CI installs it: required there)", err)
	}
	skipped.Add(1)
	t.Skip(err.Error())
	return ""
}

// Skipped returns how many tests Path skipped.
func Skipped() int64 { return skipped.Load() }

// Summary is the line Main prints for pkg after n tests skipped for lack of openssl, or ""
// when none did.
func Summary(pkg string, n int64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%s: %d test(s) SKIPPED: openssl not found (install openssl to run them; CI=true makes this a failure)", pkg, n)
}

// Runner is what TestMain runs: *testing.M, or goleak's TestingM.
type Runner interface{ Run() int }

// Wrap returns m whose Run, after the tests, prints Summary when tests skipped for lack
// of openssl: `TestMain(m) { goleak.VerifyTestMain(opensslbin.Wrap("pkg", m)) }`.
// `go test ./...` hides a passing package's output, so the line also goes to the terminal
// (/dev/tty) when there is one.
func Wrap(pkg string, m Runner) Runner { return wrapped{pkg, m} }

type wrapped struct {
	pkg string
	m   Runner
}

func (w wrapped) Run() int {
	code := w.m.Run()
	if line := Summary(w.pkg, Skipped()); line != "" {
		fmt.Fprintln(stdout, line)
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			_, _ = io.WriteString(tty, line+"\n")
			_ = tty.Close()
		}
	}
	return code
}
