package main_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/internal/bigconfig"
)

// bigConfig is a 20,000-profile configuration (some 5 MB of TOML, seconds to load, validate
// and compile), written once per test binary next to the binary (TestMain removes both).
var bigConfig = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp(filepath.Dir(bin), "signal-test-")
	if err != nil {
		return "", err
	}
	mat, err := bigconfig.WriteMaterial(dir, 10)
	if err != nil {
		return "", err
	}
	return mat.WriteTOML(20_000)
})

// TestSignalStopsLoad: SIGINT and SIGTERM stop validate, show and check while they load
// a big configuration, with the shell's exit codes (130, 143). The test waits, without
// sleeping, until the process has read the whole file (its read count in /proc/PID/io
// passes the file's size), so the signal lands in the middle of parsing, layering,
// validating or compiling, which take seconds here.
func TestSignalStopsLoad(t *testing.T) {
	path, err := bigConfig()
	require.NoError(t, err)
	info, err := os.Stat(path)
	require.NoError(t, err)
	for _, c := range []struct {
		args []string
		sig  syscall.Signal
		code int
		name string
	}{
		{[]string{"validate", "-c", path}, syscall.SIGTERM, 143, "SIGTERM"},
		{[]string{"validate", "-c", path}, syscall.SIGINT, 130, "SIGINT"},
		{[]string{"show", "-c", path, "p000001"}, syscall.SIGINT, 130, "SIGINT"},
		{[]string{"check", "-c", path, "p000001"}, syscall.SIGTERM, 143, "SIGTERM"},
	} {
		t.Run(c.args[0]+"-"+c.name, func(t *testing.T) {
			cmd := exec.Command(bin, c.args...)
			cmd.Env = append(cleanEnv(), bigconfig.PasswordEnv+"=secret")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			require.NoError(t, cmd.Start())
			waited := false
			defer func() {
				if !waited {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
				}
			}()
			if err := waitRead(cmd.Process.Pid, info.Size()); err != nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait() // the output is ours to read only after Wait
				waited = true
				t.Fatalf("%v\nstderr: %s", err, stderr.String())
			}

			sent := time.Now()
			require.NoError(t, cmd.Process.Signal(c.sig))
			err := cmd.Wait()
			waited = true
			took := time.Since(sent)
			var ee *exec.ExitError
			require.True(t, errors.As(err, &ee), "exit status: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
			require.Equal(t, c.code, ee.ExitCode(), "stdout: %s\nstderr: %s", stdout.String(), stderr.String())
			require.Equal(t, fmt.Sprintf("connfactory: interrupted by %s while loading the configuration\n", c.name), stderr.String())
			require.Empty(t, stdout.String())
			t.Logf("exited %v after %s", took, c.name)
		})
	}
}

// waitRead waits until process pid has read at least n bytes (rchar in /proc/PID/io),
// polling; it fails if the process ends first.
func waitRead(pid int, n int64) error {
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
		if err != nil {
			return fmt.Errorf("process %d: %w", pid, err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "rchar: "); ok {
				if r, err := strconv.ParseInt(v, 10, 64); err == nil && r >= n {
					return nil
				}
			}
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return err
		}
		if f := strings.Fields(string(stat)); len(f) > 2 && f[2] == "Z" {
			return fmt.Errorf("process %d ended before reading %d bytes", pid, n)
		}
		time.Sleep(time.Millisecond) // polling /proc: there is nothing to wait on
	}
}
