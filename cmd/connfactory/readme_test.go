package main_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// readmeStep is one "$ command" of a README console block and the output printed under it.
type readmeStep struct {
	cmd      string
	expected []string
}

// readmeConsoleSteps returns the steps of the ```console blocks of the README's CLI
// section (up to the next "## " heading), in order.
func readmeConsoleSteps(t *testing.T) []readmeStep {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot, "README.md"))
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(b), "\n## The CLI\n")
	require.True(t, ok, "the README has no \"## The CLI\" section")
	section, _, _ = strings.Cut(section, "\n## ")
	var steps []readmeStep
	in := false
	for _, line := range strings.Split(section, "\n") {
		switch {
		case line == "```console":
			in = true
		case in && line == "```":
			in = false
		case in && strings.HasPrefix(line, "$ "):
			steps = append(steps, readmeStep{cmd: strings.TrimPrefix(line, "$ ")})
		case in:
			require.NotEmpty(t, steps, "output before any command in a console block: %q", line)
			steps[len(steps)-1].expected = append(steps[len(steps)-1].expected, line)
		}
	}
	return steps
}

// digits are what differs from run to run: ports, latencies, dates, days left.
var digits = regexp.MustCompile(`[0-9]+`)

// expectedPattern turns a README output sample into a regexp: "..." alone on a line
// stands for any number of lines, and every number for any number.
func expectedPattern(lines []string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`\A`)
	for _, l := range lines {
		if l == "..." {
			b.WriteString(`(?:.*\n)*?`)
			continue
		}
		last := 0
		for _, m := range digits.FindAllStringIndex(l, -1) {
			b.WriteString(regexp.QuoteMeta(l[last:m[0]]))
			b.WriteString(`[0-9]+`)
			last = m[1]
		}
		b.WriteString(regexp.QuoteMeta(l[last:]))
		b.WriteString(`\n`)
	}
	b.WriteString(`\z`)
	return regexp.MustCompile(b.String())
}

// TestReadmeConsoleBlocks runs every console block of the README as printed, from a
// directory laid out like a checkout (examples/), against the sandbox the README starts,
// and compares each command's output with the sample under it. The sandbox's directory
// is moved to a temporary one.
func TestReadmeConsoleBlocks(t *testing.T) {
	t.Parallel()
	const sandboxDir = "/tmp/connfactory-sandbox"
	work := t.TempDir()
	require.NoError(t, os.Symlink(filepath.Join(moduleRoot, "examples"), filepath.Join(work, "examples")))
	sbDir := filepath.Join(t.TempDir(), "sandbox")
	var env []string
	for _, kv := range cleanEnv() {
		if !strings.HasPrefix(kv, "CASS_PASSWORD=") {
			env = append(env, kv)
		}
	}

	steps := readmeConsoleSteps(t)
	require.GreaterOrEqual(t, len(steps), 5, "the README's console blocks changed: %v", steps)
	ran := map[string]bool{}
	for _, st := range steps {
		line := strings.ReplaceAll(st.cmd, sandboxDir, sbDir)
		want := expectedPattern(strings.Split(strings.ReplaceAll(strings.Join(st.expected, "\n"), sandboxDir, sbDir), "\n"))
		if len(st.expected) == 0 {
			want = regexp.MustCompile(`\A\z`)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a bound for a hung command
		t.Cleanup(cancel)
		switch {
		case strings.HasPrefix(line, "go build "):
			// Built for real, from the checkout, into the work directory.
			require.Equal(t, "go build -o connfactory ./cmd/connfactory", line)
			c := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(work, "connfactory"), "./cmd/connfactory")
			c.Dir = moduleRoot
			out, err := c.CombinedOutput()
			require.NoError(t, err, "%s", out)
			ran["build"] = true
		case strings.HasSuffix(line, " &"):
			// A background server: its output up to the sample's last line, then it runs
			// until the test ends.
			c := exec.Command("/bin/sh", "-c", "exec "+strings.TrimSuffix(line, " &"))
			c.Dir, c.Env = work, env
			stdout, err := c.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, c.Start())
			lines := scanLines(stdout)
			t.Cleanup(func() {
				_ = c.Process.Signal(os.Interrupt)
				for range lines { // drain to EOF before Wait
				}
				_ = c.Wait()
			})
			last := st.expected[len(st.expected)-1]
			got := readUntil(t, lines, func(l string) bool { return l == last }, func() string { return "$ " + line })
			require.Regexp(t, want, strings.Join(got, "\n")+"\n", "$ %s", st.cmd)
			ran["sandbox"] = true
		default:
			c := exec.CommandContext(ctx, "/bin/sh", "-c", line)
			c.Dir, c.Env = work, env
			out, _ := c.CombinedOutput() // exit codes: the samples show failures too
			require.Regexp(t, want, string(out), "$ %s", st.cmd)
			ran[strings.Fields(line)[1]] = true
		}
	}
	for _, what := range []string{"build", "sandbox", "validate", "check"} {
		require.True(t, ran[what], "no %s step in the README's console blocks", what)
	}
}
