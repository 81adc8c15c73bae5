package connfactory

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
)

// A Registry keeps what it was loaded with (WithEnviron's variables, WithValues' literals)
// and compiles connectors holding secrets. It formats itself as a short description that
// holds none: its files and profiles. Its fields are behind pointers, so a Registry value
// (a dereferenced *Registry) prints addresses only. The methods take pointer receivers
// because a Registry holds a mutex and must not be copied.

// String describes the registry: its configuration files and profile names.
func (r *Registry) String() string {
	if r == nil {
		return "<nil>"
	}
	var files, profiles []string
	if st := r.set(); st != nil {
		files = st.load.Files
	}
	if r.cfg.Load() != nil {
		profiles = r.Profiles()
	}
	return fmt.Sprintf("&connfactory.Registry{files: [%s], profiles: [%s]}",
		strings.Join(files, ", "), strings.Join(profiles, ", "))
}

// GoString is String: %#v prints no secret either.
func (r *Registry) GoString() string { return r.String() }

// Format prints String for every verb.
func (r *Registry) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.String())) }

// LogValue logs the registry as its description.
func (r *Registry) LogValue() slog.Value { return slog.StringValue(r.String()) }

// MarshalJSON marshals the description, never the settings.
func (r *Registry) MarshalJSON() ([]byte, error) { return marshalString(r.String()) }

func marshalString(s string) ([]byte, error) { return json.Marshal(s) }
