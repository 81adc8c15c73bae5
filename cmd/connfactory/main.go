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

	"github.com/connfactory/connfactory"
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
	// SIGTERM too: that is how docker and systemd stop a sandbox. The context's cause
	// says which signal arrived, for the exit code of an interrupted load. After the
	// first signal the default behaviour is back: a second one ends the process at once.
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		if s, ok := (<-sigs).(syscall.Signal); ok {
			signal.Stop(sigs)
			cancel(interrupted{s})
		}
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	signal.Stop(sigs)
	os.Exit(code)
}

// interrupted is the cause of the command's context when a signal stopped it.
type interrupted struct{ sig syscall.Signal }

func (i interrupted) Error() string { return "interrupted by " + signalName(i.sig) }

// code is the shell's exit code for death by the signal: 130 for SIGINT, 143 for SIGTERM.
func (i interrupted) code() int { return 128 + int(i.sig) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// loading runs load (reading and validating the configuration) so that a signal stops
// the command within milliseconds: load itself stops at its next look at ctx (every few
// hundred profiles), and a load busy in one long step (parsing one huge file) is
// abandoned, which is safe because the process exits right after. It returns load's
// result, or an exitError with the signal's exit code (130, 143) once ctx is cancelled
// by one, after saying so on stderr.
func loading[T any](cmd *cobra.Command, load func() T) (T, error) {
	ctx := cmd.Context()
	done := make(chan T, 1)
	go func() { done <- load() }()
	select {
	case v := <-done:
		if err := interruption(cmd); err != nil {
			var zero T
			return zero, err
		}
		return v, nil
	case <-ctx.Done():
		var zero T
		if err := interruption(cmd); err != nil {
			return zero, err
		}
		return <-done, nil // cancelled without a signal: load stops by itself
	}
}

// loaded is a load's result carried out of loading.
type loaded[T any] struct {
	v   T
	err error
}

// loadingFiles is loading for a load taking the command's file options: connfactory.Load
// or LoadConfig.
func loadingFiles[T any](cmd *cobra.Command, files []string, load func(...connfactory.Option) (T, error)) (loaded[T], error) {
	return loading(cmd, func() loaded[T] {
		v, err := load(fileOpts(cmd, files)...)
		return loaded[T]{v, err}
	})
}

// interruption is the exitError of a command whose context a signal cancelled, nil
// otherwise; it says what happened on stderr.
func interruption(cmd *cobra.Command) error {
	var i interrupted
	if !errors.As(context.Cause(cmd.Context()), &i) {
		return nil
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "connfactory: %s while loading the configuration\n", i)
	return exitError{i.code()}
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
