package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/connfactory/connfactory/testserver/sandbox"
)

func newSandboxCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "sandbox [--dir DIR]",
		Short: "Run the test servers with generated PKI and a profiles file for them, until interrupted",
		Long: `Starts an in-process Cassandra (CQL) server and a Riak KV (Protocol Buffers) server on
loopback, both over TLS with freshly generated PKI, and writes to DIR the PKI (certs/) and a
profiles file for them (profiles.toml: one profile per mechanism). Point your own service's
configuration at them to try it without a cluster. Runs until interrupted (Ctrl-C).`,
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
			sb, err := sandbox.Start(sandbox.Options{Dir: abs})
			if err != nil {
				cmd.PrintErrln("connfactory:", err)
				return exitError{exitFailed}
			}
			defer sb.Close()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "connfactory sandbox\n")
			fmt.Fprintf(out, "  cassandra  %s  (TLS, PasswordAuthenticator; client certificates verified if sent)\n", sb.Cassandra.Addr())
			fmt.Fprintf(out, "  riak       %s  (security on: STARTTLS, then trust / password / pam / certificate users)\n", sb.Riak.Addr())
			fmt.Fprintf(out, "  PKI        %s\n", filepath.Join(abs, "certs"))
			fmt.Fprintf(out, "  profiles   %s\n\n", sb.ProfilesFile)
			fmt.Fprintf(out, "Try:\n  connfactory check -c %s %s\n", sb.ProfilesFile, "sandbox_cassandra sandbox_riak_password")
			fmt.Fprintf(out, "  connfactory show -c %s sandbox_cassandra --origins\n", sb.ProfilesFile)
			fmt.Fprintf(out, "Running until interrupted (Ctrl-C).\n")
			<-cmd.Context().Done()
			fmt.Fprintln(out, "stopping")
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory for the PKI and profiles file (default: a new temporary directory)")
	return cmd
}
