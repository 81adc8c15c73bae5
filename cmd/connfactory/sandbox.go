package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/connfactory/connfactory/connfactorytest"
)

func newSandboxCmd() *cobra.Command {
	var (
		dir   string
		nodes int
	)
	cmd := &cobra.Command{
		Use:   "sandbox [--dir DIR] [--nodes N]",
		Short: "Run the test servers with generated PKI and a profiles file for them, until interrupted",
		Long: `Starts an in-process Cassandra (CQL) server and a Riak KV (Protocol Buffers) server on
loopback, both over TLS with freshly generated PKI, and writes to DIR the PKI (certs/) and a
profiles file for them (profiles.toml: one profile per mechanism). Point your own service's
configuration at them to try it without a cluster. With --nodes N (N > 1) Cassandra is a
cluster of N nodes on 127.0.0.1 (named localhost), 127.0.0.2, ... sharing one port, in two
datacenters (dc1, and dc2 for the last third), each node with its own certificate carrying
DNS names only (its own and cassandra.sandbox), as most clusters' certificates are; the
profiles file then shows what such a cluster needs (tls.server_name). Runs until
interrupted (Ctrl-C).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				d, err := os.MkdirTemp("", "connfactory-sandbox-")
				if err != nil {
					return usageError{err}
				}
				dir = d
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return usageError{err}
			}
			if nodes < 1 {
				return usageError{fmt.Errorf("sandbox: --nodes must be at least 1, not %d", nodes)}
			}
			sb, err := connfactorytest.Start(connfactorytest.Options{Dir: abs, Nodes: nodes})
			if err != nil {
				cmd.PrintErrln("connfactory:", err)
				return exitError{exitFailed}
			}
			defer sb.Close()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "connfactory sandbox\n")
			if sb.Cluster == nil {
				fmt.Fprintf(out, "  cassandra   %s  (TLS, PasswordAuthenticator; client certificates verified if sent)\n", sb.Cassandra.Addr())
			} else {
				fmt.Fprintf(out, "  cassandra   %d nodes on port %d (TLS, PasswordAuthenticator; per-node certificates, DNS names only)\n",
					len(sb.Cluster.Nodes), sb.Cluster.Port())
				for _, n := range sb.Cluster.Nodes {
					fmt.Fprintf(out, "    %-17s %s  rack %s  certificate for %s\n", n.Addr(), n.Datacenter(), n.Rack(),
						strings.Join(n.Cert.Cert.DNSNames, ", "))
				}
			}
			fmt.Fprintf(out, "  riak        %s  (security on: STARTTLS, then trust / password / pam / certificate users)\n", sb.Riak.Addr())
			fmt.Fprintf(out, "  PKI         %s  (crl.pem is the intermediate's: use it with ca-bundle.pem)\n", filepath.Join(abs, "certs"))
			fmt.Fprintf(out, "  passphrase  %s  (of client-enc.key, client-legacy.key and client.p12)\n", sb.PassphraseFile)
			fmt.Fprintf(out, "  profiles    %s\n\n", sb.ProfilesFile)
			self := selfCommand()
			fmt.Fprintf(out, "Try:\n  %s check -c %s sandbox_cassandra sandbox_riak_password\n", self, shellQuote(sb.ProfilesFile))
			fmt.Fprintf(out, "  %s show -c %s sandbox_cassandra --origins\n", self, shellQuote(sb.ProfilesFile))
			if sb.Cluster != nil {
				fmt.Fprintf(out, "  %s check --discover -c %s sandbox_cassandra sandbox_cassandra_node_names\n", self, shellQuote(sb.ProfilesFile))
			}
			fmt.Fprintf(out, "Running until interrupted (Ctrl-C).\n")
			<-cmd.Context().Done()
			fmt.Fprintln(out, "stopping")
			return nil
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", 1, "number of Cassandra nodes (more than 1: a cluster in two datacenters)")
	cmd.Flags().StringVar(&dir, "dir", "", "directory for the PKI and profiles file (default: a new temporary directory)")
	return cmd
}

// selfCommand is how the user can run this binary again, for "Try:" lines that must run
// as printed: "connfactory" when that name on $PATH is this binary, else its absolute
// path; a binary of `go run` (deleted when it exits) is named by `go run` from the module.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "connfactory"
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	if onPath, err := exec.LookPath("connfactory"); err == nil {
		if p, err := filepath.EvalSymlinks(onPath); err == nil && p == exe {
			return "connfactory"
		}
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "go run github.com/connfactory/connfactory/cmd/connfactory"
	}
	return shellQuote(exe)
}

// shellQuote quotes s for a POSIX shell when it holds anything but safe characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:,=@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
