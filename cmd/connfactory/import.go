package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/connfactory/connfactory/internal/importer"
	"github.com/connfactory/connfactory/schema"
)

// cqlshEnv are the variables cqlsh reads besides its cqlshrc: the import converts the
// file only, and says so when one is set.
var cqlshEnv = []string{"CQLSH_HOST", "CQLSH_PORT", "SSL_CERTFILE", "SSL_VALIDATE", "SSL_VERSION", "SSL_MODE"}

func newImportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import (cqlshrc | java-driver) FILE [--name NAME] [--format toml|yaml]",
		Short: "Convert a cqlshrc or a Java driver application.conf into a profile on stdout",
		Long: `Reads another tool's connection settings and prints one profile (default name
"imported") on stdout, as that tool interprets them. File paths become absolute. Secrets are
never printed: each becomes { env = "<NAME>_PASSWORD" } (NAME upper-cased) and stderr lists
the variables to set. Every setting the profile cannot express is listed on stderr; if one
affects security (verification, versions, ciphers, credentials) nothing is printed and the
exit is 1.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("import needs a source: cqlshrc FILE or java-driver FILE")}
		},
	}
	cmd.AddCommand(
		newImportSourceCmd("cqlshrc", "a cqlshrc and its credentials file, as cqlsh reads them",
			func(path string, o importer.Options) (*importer.Result, error) {
				data, err := os.ReadFile(path)
				if err != nil {
					return nil, err
				}
				return importer.Cqlshrc(path, data, o)
			}),
		newImportSourceCmd("java-driver", "a DataStax Java driver 4 application.conf (HOCON), as the driver reads it",
			importer.JavaDriver),
	)
	return cmd
}

func newImportSourceCmd(source, what string, convert func(string, importer.Options) (*importer.Result, error)) *cobra.Command {
	var name, format string
	cmd := &cobra.Command{
		Use:   source + " FILE [--name NAME] [--format toml|yaml]",
		Short: "Convert " + what + " into a profile",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "toml" && format != "yaml" {
				return usageError{fmt.Errorf("--format %q: accepted: toml, yaml", format)}
			}
			path, err := filepath.Abs(args[0])
			if err != nil {
				return usageError{err}
			}
			res, err := convert(path, importer.Options{Name: name})
			if err != nil {
				if !errors.Is(err, importer.ErrSource) && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, os.ErrPermission) {
					return usageError{err}
				}
				cmd.PrintErrln("connfactory: import:", err)
				return exitError{exitInvalid}
			}
			if name == "" {
				name = importer.DefaultName
			}
			return printImport(cmd, source, name, format, res)
		},
	}
	cmd.Flags().StringVar(&name, "name", importer.DefaultName, "the profile's name (lowercase [a-z0-9_]); the secrets' variables are named after it")
	cmd.Flags().StringVar(&format, "format", "toml", "output format: toml or yaml")
	return cmd
}

// printImport prints the notes and variables on stderr and, unless a setting was
// refused, the profile on stdout.
func printImport(cmd *cobra.Command, source, name, format string, res *importer.Result) error {
	stderr := cmd.ErrOrStderr()
	for _, n := range res.Notes {
		fmt.Fprintln(stderr, n)
	}
	if source == "cqlshrc" {
		for _, v := range cqlshEnv {
			if _, set := os.LookupEnv(v); set {
				fmt.Fprintf(stderr, "note: environment: %s is set: cqlsh would read it too; the import converts the file only\n", v)
			}
		}
	}
	if res.Refused() {
		refused := slices.DeleteFunc(slices.Clone(res.Notes), func(n importer.Note) bool { return n.Kind != importer.Refused })
		fmt.Fprintf(stderr, "connfactory: import: %d security setting(s) refused (above): no profile printed\n", len(refused))
		return exitError{exitInvalid}
	}
	var out bytes.Buffer
	if err := writeProfiles(&out, format, map[string]*schema.Profile{name: res.Profile}, nil); err != nil {
		cmd.PrintErrln("connfactory: import:", err)
		return exitError{exitInvalid}
	}
	if _, err := cmd.OutOrStdout().Write(out.Bytes()); err != nil {
		return exitError{exitInvalid}
	}
	for _, v := range res.Env {
		fmt.Fprintf(stderr, "set %s: %s\n", v.Name, v.What)
	}
	return nil
}
