package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/internal/textsafe"
	"github.com/connfactory/connfactory/schema"
)

func newValidateCmd() *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "validate [-c FILE]... [FILE]...",
		Short: "Load, validate and compile every profile; problems on stderr (exit 1)",
		Long: `Loads the configuration (files in order, then CONNFACTORY_ environment variables),
resolves every secret and certificate source, validates every profile and compiles its TLS
material (certificates, keys, CRLs, ciphers) without connecting. Every problem is printed as
PATH: message (from SOURCE). Exit 0 when valid, 1 when not.
Files may also be given as arguments, so that a shell glob works after -c:
  connfactory validate -c examples/configs/*.toml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			type result struct {
				names, warnings []string
				err             error
			}
			res, stop := loading(cmd, func() result {
				names, warnings, err := compileAll(fileOpts(cmd, append(files, args...))...)
				return result{names, warnings, err}
			})
			if stop != nil {
				return stop
			}
			names, warnings, err := res.names, res.warnings, res.err
			for _, w := range warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", textsafe.Escape(w))
			}
			if err != nil {
				printProblems(cmd, err)
				return exitError{exitInvalid}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %d profile(s): %s\n", len(names), textsafe.Escape(nameList(names)))
			return nil
		},
	}
	configFlag(cmd, &files)
	return cmd
}

// fileOpts turns -c files into Load options (none means CONNFACTORY_CONFIG), with the
// CLI's logger and the command's context (a signal stops the load).
func fileOpts(cmd *cobra.Command, files []string) []connfactory.Option {
	opts := []connfactory.Option{connfactory.WithLogger(cliLogger), connfactory.WithContext(cmd.Context())}
	if len(files) == 0 {
		return opts
	}
	return append(opts, connfactory.WithFiles(files...))
}

// cliLogger passes only errors (a driver's own failures) to stderr: warnings are part of
// each command's output already, and info lines would drown it.
var cliLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// compileAll loads, validates and compiles every profile, returning the profile names,
// the warnings and every problem.
func compileAll(opts ...connfactory.Option) ([]string, []string, error) {
	cfg, warnings, err := connfactory.Validate(opts...)
	if err != nil {
		return nil, warnings, err
	}
	var names []string
	for n := range cfg.Profiles {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return nil, nil, schema.Problems{{Path: "profiles",
			Message: "no profiles defined (" + howToLoad + ")"}}
	}
	return names, warnings, nil
}

// maxListed is how many profile names a summary line lists.
const maxListed = 20

// nameList lists names for a summary line: all of them up to maxListed, else the first
// maxListed and how many more.
func nameList(names []string) string {
	if len(names) <= maxListed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, ... and %d more", strings.Join(names[:maxListed], ", "), len(names)-maxListed)
}

// howToLoad says where profiles come from, for messages about none having been loaded.
const howToLoad = "give -c FILE, set CONNFACTORY_CONFIG, or CONNFACTORY_PROFILES__NAME__... variables"

// noProfile is the usage error for a profile name the configuration lacks. When nothing
// was loaded and the name is an existing file, -c was most likely forgotten.
func noProfile(name string, have []string) error {
	if len(have) == 0 {
		if fi, err := os.Stat(name); err == nil && !fi.IsDir() {
			return usageError{fmt.Errorf("no profile %q: no profiles were loaded, and %s is a file: did you mean -c %s?", name, name, name)}
		}
		return usageError{fmt.Errorf("no profile %q: no profiles were loaded (%s)", name, howToLoad)}
	}
	return usageError{fmt.Errorf("no profile %q (profiles: %s)", name, strings.Join(have, ", "))}
}

// printProblems prints a configuration error one problem per line.
func printProblems(cmd *cobra.Command, err error) {
	var ps schema.Problems
	if errors.As(err, &ps) {
		for _, p := range ps.Sorted() {
			fmt.Fprintln(cmd.ErrOrStderr(), textsafe.Escape(p.String()))
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "%d problem(s)\n", len(ps.Sorted()))
		return
	}
	fmt.Fprintln(cmd.ErrOrStderr(), textsafe.Lines(err.Error()))
}
