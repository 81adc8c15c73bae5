package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/internal/advice"
	"github.com/connfactory/connfactory/internal/textsafe"
	"github.com/connfactory/connfactory/schema"
)

// checkResult is one profile's outcome: its report, and whether its failure was the
// configuration's (exit 1) rather than the connection's (exit 2).
type checkResult struct {
	report  *factory.Report
	err     error
	invalid bool
}

// checkFormats are the accepted values of check's --format.
var checkFormats = []string{"text", "json", "prometheus"}

func newCheckCmd() *cobra.Command {
	var (
		files    []string
		asJSON   bool
		all      bool
		format   string
		parallel int
		timeout  time.Duration
		discover bool
	)
	cmd := &cobra.Command{
		Use:   "check [-c FILE]... (PROFILE... | --all) [--format text|json|prometheus] [--parallel N] [--timeout D] [--discover]",
		Short: "Make one real connection per profile and report TLS, auth and server (exit 2 on failure)",
		Long: `For each profile: TCP, TLS handshake (verified as the profile says), authentication and
one request, then a report: TLS version and cipher, the server's chain with subjects, issuers
and days to expiry, the auth mechanism and result, the server version and the latency. A
failure prints its kind (unreachable, timeout, tls_untrusted, tls_hostname, tls_expired,
tls_revoked, tls_handshake, auth_failed, auth_required, protocol, config), the underlying
message and one line of advice. Every configured host is checked, one line each; a profile
passes only when all do. --discover also dials the nodes a Cassandra host lists in
system.peers, as the driver will (by IP address, on the profile's port), and a failing
discovered node fails the check.
--all checks every profile of the configuration. Profiles are checked concurrently
(--parallel, default 8) and reported in profile-name order. --format json (or --json) prints
one JSON object per profile, one per line; --format prometheus prints the Prometheus text
exposition format (for node_exporter's textfile collector).
Exit 0 when every profile passes, 2 when any fails, 1 when any is invalid (1 wins), 64 on a
usage error.`,
		Args: func(_ *cobra.Command, args []string) error {
			switch {
			case all && len(args) > 0:
				return usageError{errors.New("check: name profiles or give --all, not both")}
			case !all && len(args) == 0:
				return usageError{errors.New("check: name the profiles to check, or give --all (connfactory show lists them)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON {
				if cmd.Flags().Changed("format") && format != "json" {
					return usageError{fmt.Errorf("--json and --format %s contradict each other (--json is --format json)", format)}
				}
				format = "json"
			}
			if !slices.Contains(checkFormats, format) {
				return usageError{fmt.Errorf("--format %q: accepted: %s", format, strings.Join(checkFormats, ", "))}
			}
			if parallel < 1 {
				return usageError{fmt.Errorf("--parallel %d: accepted: 1 or more", parallel)}
			}
			res, stop := loadingFiles(cmd, files, connfactory.Load)
			if stop != nil {
				return stop
			}
			reg, err := res.v, res.err
			if err != nil {
				printProblems(cmd, err)
				return exitError{exitInvalid}
			}
			defer reg.Close()
			names := reg.Profiles()
			if all && len(names) == 0 {
				return usageError{fmt.Errorf("check --all: no profiles were loaded (%s)", howToLoad)}
			}
			if !all {
				for _, name := range args {
					if _, ok := reg.Profile(name); !ok {
						return noProfile(name, reg.Profiles())
					}
				}
				names = slices.Compact(slices.Sorted(slices.Values(args)))
			}
			results := checkProfiles(cmd.Context(), reg, names, parallel, timeout, discover)
			out := cmd.OutOrStdout()
			switch format {
			case "prometheus":
				if err := writePrometheus(out, reg, results); err != nil {
					return err
				}
			case "json":
				for _, res := range results {
					writeJSONReport(out, res)
				}
			default:
				for _, res := range results {
					writeHumanReport(out, res)
				}
			}
			code := exitOK
			for _, res := range results {
				switch {
				case res.invalid:
					code = exitInvalid
				case res.err != nil && code == exitOK:
					code = exitFailed
				}
			}
			if code != exitOK {
				return exitError{code}
			}
			return nil
		},
	}
	configFlag(cmd, &files)
	cmd.Flags().BoolVar(&all, "all", false, "check every profile of the configuration")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or prometheus")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per profile (--format json)")
	cmd.Flags().IntVar(&parallel, "parallel", 8, "how many profiles to check at once")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "bound on each profile's check")
	cmd.Flags().BoolVar(&discover, "discover", false, "also check the nodes Cassandra hosts list in system.peers")
	return cmd
}

// checkProfiles checks names with at most parallel checks at once; the results are in the
// order of names.
func checkProfiles(ctx context.Context, reg *connfactory.Registry, names []string, parallel int, timeout time.Duration, discover bool) []checkResult {
	results := make([]checkResult, len(names))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(parallel, len(names)) {
		wg.Go(func() {
			for i := range next {
				results[i] = checkProfile(ctx, reg, names[i], timeout, discover)
			}
		})
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// discoverer is a connector that can also check the nodes its hosts list (Cassandra).
type discoverer interface {
	CheckDiscover(ctx context.Context) (*factory.Report, error)
}

// checkProfile compiles and checks one profile within timeout; with discover, also the
// nodes its hosts list in system.peers.
func checkProfile(ctx context.Context, reg *connfactory.Registry, name string, timeout time.Duration, discover bool) checkResult {
	p, _ := reg.Profile(name)
	c, err := reg.Connector(name)
	if err != nil {
		r := &factory.Report{Profile: name, Backend: string(p.Backend)}
		r.Auth.Mechanism = string(p.Auth.EffectiveMechanism())
		if p.TLS.Enabled() {
			// What the profile asks for, not "off": it failed to compile, it is not plaintext.
			r.TLS.Enabled, r.TLS.Mode = true, string(p.TLS.EffectiveMode())
		}
		r.Fail(err)
		return checkResult{report: r, err: err, invalid: errors.Is(err, factory.ErrConfig) || errors.Is(err, schema.ErrInvalid)}
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	check := c.Check
	if d, ok := c.(discoverer); ok && discover {
		check = d.CheckDiscover
	}
	r, err := check(ctx)
	if r == nil {
		r = &factory.Report{Profile: name, Backend: string(c.Backend())}
	}
	if err != nil && r.Error == nil {
		r.Fail(err)
	}
	for _, w := range c.Warnings() {
		r.Warnings = appendUnique(r.Warnings, w.String())
	}
	return checkResult{report: r, err: err}
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// jsonReport is the --json form: DESIGN.md's fields, plus advice in the error.
type jsonReport struct {
	*factory.Report
	Error *jsonError `json:"error,omitempty"`
}

type jsonError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Advice  string `json:"advice,omitempty"`
}

func writeJSONReport(w io.Writer, res checkResult) {
	r := res.report
	out := jsonReport{Report: r}
	if r.Error != nil {
		out.Error = &jsonError{Kind: r.Error.Kind, Message: r.Error.Message, Advice: adviceFor(res)}
	}
	// Messages quote servers and certificates ("<nil>", "a & b"): keep them readable.
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(out)
}

// adviceFor is the advice for a result's error: from the error itself when there is one
// (it may name what the certificate is for), else from the report's kind.
func adviceFor(res checkResult) string {
	r := res.report
	if r.Error == nil {
		return ""
	}
	if res.err != nil {
		return advice.For(res.err)
	}
	return advice.For(&factory.Error{Kind: factory.Kind(r.Error.Kind), Err: errors.New(r.Error.Message)})
}

// writeHumanReport prints a result for a terminal. Every string that a server, a
// certificate or the configuration chose is escaped (textsafe): a hostile server must not
// be able to clear the screen or forge an "OK" line. --json keeps them exact.
func writeHumanReport(w io.Writer, res checkResult) {
	r := res.report
	e := textsafe.Escape
	status := "OK"
	if !r.OK || res.err != nil {
		status = "FAILED"
	}
	fmt.Fprintf(w, "%s (%s): %s in %.1f ms\n", e(r.Profile), e(r.Backend), status, r.LatencyMS)
	if r.Server.Address != "" || r.Server.Version != "" {
		line := "  server:  " + e(r.Server.Address)
		if r.Server.Version != "" {
			line += "  version " + e(r.Server.Version)
		}
		if r.Server.Node != "" {
			line += "  node " + e(r.Server.Node)
		}
		if r.Server.ProtocolVersion != 0 {
			line += fmt.Sprintf("  protocol v%d", r.Server.ProtocolVersion)
		}
		fmt.Fprintln(w, line)
	}
	writeHostLines(w, r)
	switch {
	case r.TLS.Enabled && res.invalid && r.TLS.Version == "":
		// The profile asks for TLS but did not compile: say which mode it asked for, never
		// "off": the error below says why nothing was attempted.
		fmt.Fprintf(w, "  tls:     mode %s, not attempted (the profile did not compile)\n", e(r.TLS.Mode))
	case r.TLS.Enabled:
		if r.TLS.Version == "" {
			fmt.Fprintf(w, "  tls:     mode %s, no session established\n", e(r.TLS.Mode))
		} else {
			fmt.Fprintf(w, "  tls:     %s %s  mode %s  server name %s\n", e(r.TLS.Version), e(r.TLS.Cipher), e(r.TLS.Mode), e(r.TLS.ServerName))
		}
		for i, c := range r.TLS.PeerChain {
			fmt.Fprintf(w, "  chain[%d]: %s\n            issued by %s, expires %s (%d days)\n",
				i, e(c.Subject), e(c.Issuer), c.NotAfter.Format("2006-01-02"), c.DaysLeft)
		}
		if r.TLS.ClientCert != nil {
			fmt.Fprintf(w, "  client:  %s, expires %s (%d days)\n", e(r.TLS.ClientCert.Subject),
				r.TLS.ClientCert.NotAfter.Format("2006-01-02"), r.TLS.ClientCert.DaysLeft)
		}
	default:
		fmt.Fprintln(w, "  tls:     off (plaintext)")
	}
	auth := "  auth:    " + e(r.Auth.Mechanism)
	if r.Auth.Username != "" {
		auth += " as " + e(r.Auth.Username)
	}
	if r.Auth.Authenticator != "" {
		auth += " (" + e(r.Auth.Authenticator) + ")"
	}
	if r.Auth.Result != "" {
		auth += ": " + e(r.Auth.Result)
	}
	fmt.Fprintln(w, auth)
	for _, wn := range r.Warnings {
		fmt.Fprintln(w, "  warning: "+e(wn))
	}
	if r.Error != nil {
		fmt.Fprintf(w, "  error:   %s: %s\n", e(r.Error.Kind), e(r.Error.Message))
		if a := adviceFor(res); a != "" {
			fmt.Fprintf(w, "  advice:  %s\n", e(a))
		}
	}
}

// writeHostLines prints one line per host of r checked: address, where it came from, its
// datacenter, and its result.
func writeHostLines(w io.Writer, r *factory.Report) {
	e := textsafe.Escape // addresses, datacenters and errors come from the servers too
	for _, h := range r.Hosts {
		line := fmt.Sprintf("  host:    %s  %s", e(h.Address), h.Source)
		if h.Datacenter != "" {
			line += "  " + e(h.Datacenter)
		}
		if h.OK {
			line += "  OK"
			if h.TLS != nil && h.TLS.Version != "" {
				line += fmt.Sprintf("  %s, server name %s", h.TLS.Version, e(h.TLS.ServerName))
			}
		} else if h.Error != nil {
			if r.Error != nil && *h.Error == *r.Error {
				line += "  FAILED (the error below)" // the kind is printed once
			} else {
				line += "  FAILED " + h.Error.Kind + ": " + e(h.Error.Message)
			}
		}
		fmt.Fprintln(w, line)
	}
}
