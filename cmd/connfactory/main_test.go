package main_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/connfactory/connfactory/internal/leakcheck"
)

// bin is the connfactory binary built once for every test: the tests drive the real
// command line (flags, exit codes, stdout/stderr), not run() in-process.
var bin string

// moduleRoot is the repository root, where examples/configs lives.
var moduleRoot, _ = filepath.Abs(filepath.Join("..", ".."))

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "connfactory-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cmd/connfactory test:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	goTool, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cmd/connfactory test: the go tool is needed to build the binary:", err)
		return 1
	}
	bin = filepath.Join(dir, "connfactory")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "cmd/connfactory test: go build: %v\n%s", err, out)
		return 1
	}
	code := m.Run()
	// The servers the tests start in-process (sandbox, cqltest, riaktest) must be gone
	// after their Close, and no exec plumbing may linger.
	if code == 0 {
		if err := goleak.Find(leakcheck.GocqlHeartbeat); err != nil {
			fmt.Fprintln(os.Stderr, "cmd/connfactory test: goroutines left behind:", err)
			return 1
		}
	}
	return code
}

// result is one run of the binary.
type result struct {
	code           int
	stdout, stderr string
}

// String is for failure messages: everything the binary said.
func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// runIn runs the binary in dir (the test's cwd when empty) with a clean environment plus
// env ("KEY=value"), and returns its exit code and output.
func runIn(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		t.Fatalf("running %s %v: %v", bin, args, err)
	}
	require.NoError(t, ctx.Err(), "connfactory %v did not finish in time\n%s", args, res)
	return res
}

// run runs the binary in the test's working directory.
func run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runIn(t, "", env, args...)
}

// cleanEnv is the test process's environment without any CONNFACTORY_ variable, so that
// a developer's own configuration cannot leak into the runs.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONNFACTORY_") {
			env = append(env, kv)
		}
	}
	return env
}

// writeFiles writes name -> content under dir (creating parents) and returns dir.
func writeFiles(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	}
	return dir
}

// exampleFiles are the example configuration files, relative to the module root.
func exampleFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.toml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(moduleRoot, "examples", "configs", pattern))
		require.NoError(t, err)
		for _, f := range m {
			rel, err := filepath.Rel(moduleRoot, f)
			require.NoError(t, err)
			files = append(files, rel)
		}
	}
	require.Len(t, files, 4, "examples/configs changed: update the CLI tests")
	return files
}

// scanLines sends r's lines to the returned channel, closed at EOF.
func scanLines(r io.Reader) <-chan string {
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines
}

// readUntil collects lines up to and including the first for which last is true. A
// process that exits first, or stays silent for 30 s (a bound for a hung binary, not a
// synchronisation), fails the test; info is printed with the failure.
func readUntil(t *testing.T, lines <-chan string, last func(string) bool, info func() string) []string {
	t.Helper()
	var out []string
	deadline := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			require.True(t, ok, "exited early:\n%s\n%s", strings.Join(out, "\n"), info())
			out = append(out, line)
			if last(line) {
				return out
			}
		case <-deadline:
			t.Fatalf("not ready:\n%s\n%s", strings.Join(out, "\n"), info())
		}
	}
}
