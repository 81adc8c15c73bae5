package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"

	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/spf13/cobra"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/internal/textsafe"
	"github.com/connfactory/connfactory/schema"
)

func newShowCmd() *cobra.Command {
	var (
		files   []string
		format  string
		origins bool
	)
	cmd := &cobra.Command{
		Use:   "show [-c FILE]... [PROFILE] [--format toml|yaml|json] [--origins]",
		Short: "Print the effective profiles (layers, defaults and extends applied; secrets redacted)",
		Long: `Prints each profile as the factory will see it: every layer merged, [defaults] and
extends applied. Secrets (passwords, passphrases, inline PEM) print as <redacted>; a secret
from the environment or a file shows the variable or path it comes from. --origins adds
where each value came from (file or environment variable). Problems go to stderr (exit 1).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains([]string{"toml", "yaml", "json"}, format) {
				return usageError{fmt.Errorf("--format %q: accepted: toml, yaml, json", format)}
			}
			res, stop := loadingFiles(cmd, files, connfactory.LoadConfig)
			if stop != nil {
				return stop
			}
			cfg, loadErr := res.v, res.err
			if cfg == nil {
				printProblems(cmd, loadErr)
				return exitError{exitInvalid}
			}
			profiles := cfg.Profiles
			if len(profiles) == 0 && loadErr == nil && len(args) == 0 {
				return usageError{fmt.Errorf("show: nothing loaded, no profiles to show (%s)", howToLoad)}
			}
			if len(args) == 1 {
				p, ok := cfg.Profiles[args[0]]
				if !ok {
					if loadErr != nil {
						printProblems(cmd, loadErr)
					}
					return noProfile(args[0], sortedNames(cfg))
				}
				profiles = map[string]*schema.Profile{args[0]: p}
			}
			var ori *schema.Origins
			if origins {
				o := cfg.Origins.Profiles(slices.Collect(maps.Keys(profiles))...)
				ori = &o
			}
			if err := writeProfiles(cmd.OutOrStdout(), format, profiles, ori); err != nil {
				cmd.PrintErrln("connfactory:", err)
				return exitError{exitFailed}
			}
			if loadErr != nil {
				printProblems(cmd, loadErr)
				return exitError{exitInvalid}
			}
			return nil
		},
	}
	configFlag(cmd, &files)
	cmd.Flags().StringVar(&format, "format", "toml", "output format: toml, yaml or json")
	cmd.Flags().BoolVar(&origins, "origins", false, "also print where each value came from")
	return cmd
}

func sortedNames(cfg *schema.Config) []string {
	var names []string
	for n := range cfg.Profiles {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// writeProfiles renders profiles in format. The types redact their secrets when
// marshalled, so the generic map made from their JSON holds no secret.
func writeProfiles(w io.Writer, format string, profiles map[string]*schema.Profile, origins *schema.Origins) error {
	raw, err := json.Marshal(map[string]any{"profiles": profiles})
	if err != nil {
		return err
	}
	// Numbers stay integers (protocol_version = 4, not 4.0).
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	doc = integers(doc).(map[string]any)
	absolutePaths(doc)
	var byPath map[string]string
	if origins != nil {
		byPath = maps.Collect(origins.All())
	}
	paths := slices.Sorted(maps.Keys(byPath))

	if format == "json" {
		if origins != nil {
			doc["origins"] = byPath
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		// "<redacted>", not "\u003credacted\u003e": the output is read by people too.
		enc.SetEscapeHTML(false)
		return enc.Encode(doc)
	}
	// TOML and YAML: the document, then the origins as comments (both ignore them).
	var marshal func(map[string]any) ([]byte, error) = toml.Parser().Marshal
	if format == "yaml" {
		marshal = yaml.Parser().Marshal
	}
	b, err := marshal(doc)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	return writeOriginComments(w, paths, byPath)
}

// absolutePaths makes every file source's path absolute (the loaders resolved relative
// ones against the current directory or the naming file's), so that the output can be
// saved anywhere and loaded again: show > /elsewhere/x.toml && validate -c /elsewhere/x.toml.
func absolutePaths(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if s, ok := x.(string); ok && k == "file" && s != "" && !filepath.IsAbs(s) {
				if abs, err := filepath.Abs(s); err == nil {
					t[k] = abs
				}
				continue
			}
			absolutePaths(x)
		}
	case []any:
		for _, x := range t {
			absolutePaths(x)
		}
	}
}

// integers turns json.Numbers into int64 or float64, for the TOML and YAML encoders.
func integers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = integers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = integers(x)
		}
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	}
	return v
}

// writeOriginComments appends the origins as comments, which both TOML and YAML ignore.
func writeOriginComments(w io.Writer, paths []string, origins map[string]string) error {
	if len(paths) == 0 {
		return nil
	}
	if _, err := fmt.Fprintln(w, "\n# origins:"); err != nil {
		return err
	}
	for _, p := range paths {
		if _, err := fmt.Fprintf(w, "#   %s: %s\n", textsafe.Escape(p), textsafe.Escape(origins[p])); err != nil {
			return err
		}
	}
	return nil
}
