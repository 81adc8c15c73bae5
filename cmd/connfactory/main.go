// Command connfactory validates, shows and checks connection profiles, and runs a demo and
// a sandbox on the in-process test servers.
//
//	connfactory validate [-c FILE]...               exit 0 valid, 1 invalid (problems on stderr)
//	connfactory show     [-c FILE]... [PROFILE] [--format toml|yaml|json] [--origins]
//	connfactory check    [-c FILE]... PROFILE... [--json] [--timeout D]
//	connfactory schema                              JSON Schema on stdout
//	connfactory demo
//	connfactory sandbox  [--dir DIR]
//	connfactory import   (cqlshrc | java-driver) FILE [--name NAME] [--format toml|yaml]
//
// With no -c, the files listed in CONNFACTORY_CONFIG (colon-separated) are read.
// Exit codes: 0 ok, 1 invalid configuration, 2 a check failed, 64 usage error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/connfactory/connfactory/internal/textsafe"
)

// Exit codes of DESIGN.md.
const (
	exitOK      = 0
	exitInvalid = 1
	exitFailed  = 2
	exitUsage   = 64
)

// exitError carries an exit code out of a command; its message (if any) was already printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// usageError is a mistake in the command line: exit 64.
type usageError struct{ error }

func main() {
	// SIGTERM too: that is how docker and systemd stop a sandbox.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the CLI with args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// Our commands return exitError for every outcome they report themselves, so anything
	// else is cobra's complaint about the command line (unknown command or flag, wrong
	// number of arguments) or a usageError of ours.
	fmt.Fprintln(stderr, "connfactory:", textsafe.Lines(err.Error()))
	fmt.Fprintln(stderr, "Run 'connfactory --help' for usage.")
	return exitUsage
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "connfactory",
		Short:         "Validated, secure connection profiles for Cassandra and Riak KV",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError{errors.New("a command is required (validate, show, check, schema, demo, sandbox, import)")}
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newValidateCmd(), newShowCmd(), newCheckCmd(), newSchemaCmd(), newDemoCmd(), newSandboxCmd(), newImportCmd())
	return root
}

// configFlag adds the repeatable -c flag.
func configFlag(cmd *cobra.Command, files *[]string) {
	cmd.Flags().StringArrayVarP(files, "config", "c", nil,
		"configuration file (TOML, YAML or JSON); repeatable, later files win; default: $CONNFACTORY_CONFIG (colon-separated)")
}
