package loaders

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
)

// Options carry the environment (Environ: any DB_PASSWORD=...) and literal values
// (Values) that may be secrets, so they format themselves, with every verb, through slog
// and as JSON, as a description that holds neither: the files, the env prefix and how
// many variables and values were given.

// String describes o without its environment's or values' contents.
func (o Options) String() string {
	parts := []string{"files: [" + strings.Join(o.Files, ", ") + "]"}
	if o.FS != nil {
		parts = append(parts, "fs: yes")
	}
	if o.EnvPrefix != "" {
		parts = append(parts, fmt.Sprintf("env_prefix: %q", o.EnvPrefix))
	}
	if o.Environ != nil {
		parts = append(parts, fmt.Sprintf("environ: <%d variables>", len(o.Environ)))
	}
	if o.Values != nil {
		parts = append(parts, fmt.Sprintf("values: <%d keys>", len(o.Values)))
	}
	if o.Base != nil {
		parts = append(parts, fmt.Sprintf("base: <%d profiles>", len(o.Base.Profiles)))
	}
	return "loaders.Options{" + strings.Join(parts, ", ") + "}"
}

// GoString is String.
func (o Options) GoString() string { return o.String() }

// Format prints String for every verb.
func (o Options) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(o.String())) }

// LogValue logs String.
func (o Options) LogValue() slog.Value { return slog.StringValue(o.String()) }

// MarshalJSON marshals String.
func (o Options) MarshalJSON() ([]byte, error) { return json.Marshal(o.String()) }
