package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/connfactorytest"
	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/factory/cassandra"
	"github.com/connfactory/connfactory/internal/examples"
	"github.com/connfactory/connfactory/internal/textsafe"
	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
	"github.com/connfactory/connfactory/testserver/cqltest"
	"github.com/connfactory/connfactory/testserver/pki"
)

func newDemoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Start the in-process test servers, check every example profile against them, print a table",
		Long: `Starts the in-process Cassandra and Riak test servers over TLS with freshly generated
PKI, loads the example profiles (examples/configs, embedded in this binary), points them at
the servers, checks every one, and prints a table. Then it shows two deliberate failures (a
wrong password and an untrusted CA) with their diagnosis, and a three-node Cassandra cluster
in two datacenters: check --discover with and without tls.server_name, and where
local_datacenter sends queries. Loopback only; a few seconds.
Exit 0 when every example passes and both failures are diagnosed as expected, else 2.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ok, err := runDemo(cmd.Context(), cmd.OutOrStdout())
			if err != nil {
				cmd.PrintErrln("connfactory: demo:", err)
				return exitError{exitFailed}
			}
			if !ok {
				return exitError{exitFailed}
			}
			return nil
		},
	}
}

// The deliberate failures the demo adds to the examples.
const (
	demoWrongPassword = "demo_wrong_password"
	demoUntrustedCA   = "demo_untrusted_ca"
)

// runDemo runs the demo, writing to out; ok is false when a result was not the expected one.
func runDemo(ctx context.Context, out io.Writer) (ok bool, err error) {
	dir, err := os.MkdirTemp("", "connfactory-demo-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)

	// The examples, copied out of the binary so that their relative paths resolve, with
	// freshly generated PKI in place of the checked-in one.
	cfgDir := filepath.Join(dir, "configs")
	if err := copyFS(examples.Configs, ".", cfgDir); err != nil {
		return false, err
	}
	certs, err := examples.WritePKI(filepath.Join(cfgDir, "certs"), 365*24*time.Hour)
	if err != nil {
		return false, err
	}
	other, err := pki.NewRootCA("connfactory demo: a CA nobody trusts")
	if err != nil {
		return false, err
	}
	otherCA := filepath.Join(dir, "other-ca.pem")
	if err := os.WriteFile(otherCA, other.CertPEM(), 0o600); err != nil {
		return false, err
	}
	var files []string
	for _, f := range examples.Files {
		files = append(files, filepath.Join(cfgDir, f))
	}
	// A first load learns what each profile needs of its server.
	cfg, mat, err := loaders.Load(loaders.Options{Files: files, EnvPrefix: "-"})
	if err != nil {
		return false, fmt.Errorf("the example profiles do not load: %w", err)
	}
	servers, err := connfactorytest.StartForProfiles(cfg.Profiles, mat, certs.Server.TLSCertificate(), certs.Root.Pool())
	if err != nil {
		return false, err
	}
	defer servers.Close()
	var names []string
	for name := range cfg.Profiles {
		names = append(names, name)
	}
	slices.Sort(names)
	values := servers.Values()
	failures := demoFailures(cfg, otherCA)
	for name, v := range failures {
		values["profiles"].(map[string]any)[name] = v
	}

	reg, err := connfactory.Load(connfactory.WithFiles(files...), connfactory.WithEnvPrefix("-"), connfactory.WithLogger(cliLogger),
		connfactory.WithValues(values))
	if err != nil {
		return false, err
	}
	defer reg.Close()

	fmt.Fprintf(out, "connfactory demo: %d example profiles, each checked against its own in-process %s\n",
		len(names), "test server (cqltest or riaktest) on loopback, with freshly generated PKI")
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tBACKEND\tMECHANISM\tTLS\tRESULT\tLATENCY")
	ok = true
	for _, name := range names {
		res := checkProfile(ctx, reg, name, 15*time.Second, false)
		writeRow(tw, res.report)
		if res.err != nil {
			ok = false
		}
	}
	_ = tw.Flush()
	if !ok {
		fmt.Fprintln(out, "\nSome examples failed; details:")
		for _, name := range names {
			if res := checkProfile(ctx, reg, name, 15*time.Second, false); res.err != nil {
				writeHumanReport(out, res)
			}
		}
	}

	fmt.Fprintln(out, "\nTwo deliberate failures, as `connfactory check` reports them:")
	want := map[string]factory.Kind{demoWrongPassword: factory.KindAuthFailed, demoUntrustedCA: factory.KindTLSUntrusted}
	for _, name := range []string{demoWrongPassword, demoUntrustedCA} {
		if _, present := failures[name]; !present {
			continue
		}
		res := checkProfile(ctx, reg, name, 15*time.Second, false)
		fmt.Fprintln(out)
		writeHumanReport(out, res)
		if factory.KindOf(res.err) != want[name] {
			ok = false
			fmt.Fprintf(out, "  (expected %s)\n", want[name])
		}
	}
	clusterOK, err := demoCluster(ctx, out, filepath.Join(dir, "cluster"))
	if err != nil {
		return false, err
	}
	return ok && clusterOK, nil
}

// demoCluster shows a three-node cluster in two datacenters (the sandbox's), whose nodes
// have per-node certificates with DNS names only: `check --discover` of a profile with
// tls.server_name, of one routing to dc2 (with the queries each node served), and of one
// without server_name, which fails on the discovered nodes with its advice.
func demoCluster(ctx context.Context, out io.Writer, dir string) (ok bool, err error) {
	fmt.Fprintln(out, "\nA three-node cluster in two datacenters, per-node certificates with DNS names only,")
	fmt.Fprintln(out, "as `connfactory check --discover` reports it (`connfactory sandbox --nodes 3` runs it):")
	sb, err := connfactorytest.Start(connfactorytest.Options{Dir: dir, Nodes: 3})
	if errors.Is(err, cqltest.ErrLoopbackUnavailable) {
		fmt.Fprintf(out, "\n  skipped: %v\n", err)
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer sb.Close()
	reg, err := connfactory.Load(connfactory.WithFiles(sb.ProfilesFile), connfactory.WithEnvPrefix("-"), connfactory.WithLogger(cliLogger))
	if err != nil {
		return false, err
	}
	defer reg.Close()
	ok = true
	want := map[string]factory.Kind{"sandbox_cassandra": "", "sandbox_cassandra_dc2": "", "sandbox_cassandra_node_names": factory.KindTLSHostname}
	for _, name := range []string{"sandbox_cassandra", "sandbox_cassandra_dc2", "sandbox_cassandra_node_names"} {
		res := checkProfile(ctx, reg, name, 15*time.Second, true)
		fmt.Fprintln(out)
		writeHumanReport(out, res)
		if factory.KindOf(res.err) != want[name] {
			ok = false
			fmt.Fprintf(out, "  (expected %s)\n", orOK(want[name]))
		}
	}

	// Where local_datacenter = "dc2" sends queries, as the nodes counted them.
	const query, queries = "SELECT data_center FROM system.local", 12
	c, err := reg.Connector("sandbox_cassandra_dc2")
	if err != nil {
		return false, err
	}
	sess, err := c.(*cassandra.Connector).Dial(ctx)
	if err != nil {
		fmt.Fprintf(out, "\n  dial sandbox_cassandra_dc2: %v\n", err)
		return false, nil
	}
	defer sess.Close()
	for i := 0; i < queries; i++ {
		if err := sess.Query(query).WithContext(ctx).Exec(); err != nil {
			fmt.Fprintf(out, "\n  query: %v\n", err)
			return false, nil
		}
	}
	fmt.Fprintf(out, "\n%d queries through sandbox_cassandra_dc2 (local_datacenter = \"dc2\", seed in dc1), as the nodes counted them:\n", queries)
	for _, n := range sb.Cluster.Nodes {
		fmt.Fprintf(out, "  %-17s %s  %d\n", n.Addr(), n.Datacenter(), n.Served(query))
		if (n.Datacenter() == "dc2") != (n.Served(query) > 0) {
			ok = false
		}
	}
	return ok, nil
}

func orOK(k factory.Kind) string {
	if k == "" {
		return "OK"
	}
	return string(k)
}

func writeRow(w io.Writer, r *factory.Report) {
	tlsCol := "off"
	if r.TLS.Enabled {
		tlsCol = r.TLS.Version
		if r.TLS.ClientCert != nil {
			tlsCol += " mutual"
		}
	}
	result := "OK"
	if r.Error != nil {
		result = "FAIL " + r.Error.Kind
	}
	e := textsafe.Escape
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%.1f ms\n", e(r.Profile), e(r.Backend), e(r.Auth.Mechanism), e(tlsCol), e(result), r.LatencyMS)
}

// demoFailures derives the two deliberate failures from the examples: a password profile
// with a wrong password, and a TLS profile trusting another CA.
func demoFailures(cfg *schema.Config, otherCA string) map[string]any {
	out := map[string]any{}
	var names []string
	for n := range cfg.Profiles {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := cfg.Profiles[n]
		if p.Backend == schema.Cassandra && p.Auth.EffectiveMechanism() == schema.MechanismPassword {
			out[demoWrongPassword] = map[string]any{"extends": n, "auth": map[string]any{"password": "not-the-password"}}
			break
		}
	}
	for _, n := range names {
		p := cfg.Profiles[n]
		if p.Backend == schema.Riak && p.TLS.Enabled() && p.Auth.EffectiveMechanism() == schema.MechanismPassword {
			out[demoUntrustedCA] = map[string]any{"extends": n,
				"tls": map[string]any{"ca": map[string]any{"file": otherCA}}}
			break
		}
	}
	return out
}

// copyFS copies the tree under root of fsys to dir; key-like files get mode 0600.
func copyFS(fsys fs.FS, root, dir string) error {
	return fs.WalkDir(fsys, root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
}
