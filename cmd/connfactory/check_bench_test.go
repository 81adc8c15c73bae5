package main_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	sandbox "github.com/connfactory/connfactory/connfactorytest"
	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/pki"
)

// BenchmarkCheckAll100 runs the built binary's `check --all` over 100 profiles: 50 that
// pass (Cassandra and Riak over TLS with password authentication, alternately, against
// the sandbox servers) and 50 whose server accepts TCP and then never answers, so that
// each of those waits out connect_timeout (the default, 5 s). One sub-benchmark per
// --parallel; 8 is the default. It takes several minutes (--parallel 1 alone about
// 50 × 5 s):
//
//	go test ./cmd/connfactory -run '^$' -bench CheckAll100 -benchtime 1x -timeout 30m
func BenchmarkCheckAll100(b *testing.B) {
	dir := b.TempDir()
	sb, err := sandbox.Start(sandbox.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Close()
	stalled, err := cqltest.Start(cqltest.Options{Stall: true})
	if err != nil {
		b.Fatal(err)
	}
	defer stalled.Close()

	var cfg strings.Builder
	ca := sb.Files[pki.FileCA]
	for i := range 50 {
		if i%2 == 0 {
			fmt.Fprintf(&cfg, "[profiles.ok_%02d]\nbackend = \"cassandra\"\nhosts = [%q]\nauth = { mechanism = \"password\", username = %q, password = %q }\ntls = { ca = { file = %q } }\n\n",
				i, sb.Cassandra.Addr(), sandbox.CassandraUser, sandbox.CassandraPassword, ca)
		} else {
			fmt.Fprintf(&cfg, "[profiles.ok_%02d]\nbackend = \"riak\"\nhosts = [%q]\nauth = { mechanism = \"password\", username = %q, password = %q }\ntls = { ca = { file = %q } }\n\n",
				i, sb.Riak.Addr(), sandbox.RiakPasswordUser, sandbox.RiakPassword, ca)
		}
		fmt.Fprintf(&cfg, "[profiles.stalled_%02d]\nbackend = \"cassandra\"\nhosts = [%q]\ntls = { ca = { file = %q } }\n\n", i, stalled.Addr(), ca)
	}
	file := filepath.Join(dir, "100.toml")
	if err := os.WriteFile(file, []byte(cfg.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	for _, parallel := range []int{1, 8, 16, 50, 100} {
		b.Run(fmt.Sprintf("parallel=%d", parallel), func(b *testing.B) {
			for b.Loop() {
				cmd := exec.CommandContext(context.Background(), bin, "check", "-c", file, "--all", "--format", "prometheus",
					"--parallel", fmt.Sprint(parallel))
				cmd.Env = cleanEnv()
				out, err := cmd.Output()
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 2 {
					b.Fatalf("want exit 2 (50 checks fail), got %v\n%s", err, out)
				}
				if n := strings.Count(string(out), "connfactory_check_success{"); n != 100 {
					b.Fatalf("%d check_success series, want 100", n)
				}
				if n := strings.Count(string(out), "connfactory_check_failure_kind{backend=\"cassandra\",kind=\"timeout\""); n != 50 {
					b.Fatalf("%d timeouts, want 50\n%s", n, out)
				}
			}
		})
	}
}
