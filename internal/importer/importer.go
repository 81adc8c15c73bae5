// Package importer converts another tool's connection settings into one connfactory
// profile: a cqlshrc (with its credentials file) and a DataStax Java driver 4
// application.conf. Each converter is a function from the source file to a Result: the
// profile, the environment variables its secrets are read from, and a Note for every
// setting that was interpreted, dropped or refused. Nothing here prints or exits; the
// connfactory import command does.
//
// Secrets found in a source are never copied: each becomes an { env = "<NAME>_..." }
// source and its variable is listed in Result.Env.
package importer

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/connfactory/connfactory/schema"
)

// ErrSource is wrapped by every error about a source file that cannot be read or parsed
// the way its own tool reads it.
var ErrSource = errors.New("importer: source")

// Kind says what became of a source setting.
type Kind int

const (
	// Mapped: the setting was converted; the note says how it was interpreted.
	Mapped Kind = iota
	// Weaker: the setting was converted to a TLS mode weaker than verify-full (the
	// source verifies less): exit 0, but the CLI prints it as a warning.
	Weaker
	// Dropped: the profile cannot express the setting and it does not affect security.
	Dropped
	// Refused: the profile cannot express the setting and it affects security
	// (verification, versions, ciphers, credentials): no profile must be printed.
	Refused
)

// kindNames are the words the CLI prints before each note.
var kindNames = map[Kind]string{Mapped: "note", Weaker: "warning", Dropped: "dropped", Refused: "refused"}

func (k Kind) String() string { return kindNames[k] }

// Note is what happened to one setting of the source.
type Note struct {
	// Setting names the setting as the source writes it: "[ssl] validate",
	// "advanced.ssl-engine-factory.truststore-path".
	Setting string
	// Kind is Mapped, Dropped or Refused.
	Kind Kind
	// Message says what the source tool does with the setting and what the profile does.
	// It never holds a secret value.
	Message string
}

func (n Note) String() string { return fmt.Sprintf("%s: %s: %s", n.Kind, n.Setting, n.Message) }

// Result is one imported profile.
type Result struct {
	// Profile is the converted profile (Backend cassandra). Its secrets are env sources.
	Profile *schema.Profile
	// Env lists the environment variables the profile reads its secrets from, each with
	// what to put in it ("IMPORTED_PASSWORD: the password of user app").
	Env []EnvVar
	// Notes lists every interpreted, dropped and refused setting, in source order.
	Notes []Note
}

// EnvVar is a variable the imported profile needs.
type EnvVar struct {
	// Name is the variable, e.g. IMPORTED_PASSWORD.
	Name string
	// What says which secret of the source belongs in it.
	What string
}

// Refused reports whether any note is Refused: then the profile must not be used.
func (r *Result) Refused() bool {
	for _, n := range r.Notes {
		if n.Kind == Refused {
			return true
		}
	}
	return false
}

func (r *Result) note(kind Kind, setting, format string, args ...any) {
	r.Notes = append(r.Notes, Note{Setting: setting, Kind: kind, Message: fmt.Sprintf(format, args...)})
}

// secretEnv returns an env secret source named <NAME>_<suffix> and records the variable.
func (r *Result) secretEnv(o *Options, suffix, what string) *schema.SecretSource {
	name := strings.ToUpper(o.Name) + "_" + suffix
	r.Env = append(r.Env, EnvVar{Name: name, What: what})
	return &schema.SecretSource{Env: name}
}

// Options are the surroundings of an import: the profile name and how the source tool
// would resolve paths. The zero value of each field means the process's own.
type Options struct {
	// Name is the profile's name (default "imported"); the secrets' variables are named
	// after it, upper-cased.
	Name string
	// Dir is the directory relative paths resolve against, as the source tool (cqlsh, the
	// JVM) resolves them: its working directory. Default: the current directory.
	Dir string
	// Home is the directory "~" stands for. Default: $HOME.
	Home string
	// ReadFile reads a file the source refers to (cqlsh's credentials file). Default
	// os.ReadFile.
	ReadFile func(name string) ([]byte, error)
	// Stat describes such a file (cqlsh ignores a credentials file others can read).
	// Default os.Stat.
	Stat func(name string) (fs.FileInfo, error)
}

// DefaultName is the profile name when Options.Name is empty.
const DefaultName = "imported"

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() (Options, error) {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if !schema.ValidProfileName(o.Name) {
		return o, fmt.Errorf("importer: profile name %q: use lowercase letters, digits and _ (names must survive environment variables)", o.Name)
	}
	if o.Dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return o, fmt.Errorf("importer: working directory: %w", err)
		}
		o.Dir = wd
	}
	if o.Home == "" {
		o.Home = os.Getenv("HOME")
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	if o.Stat == nil {
		o.Stat = os.Stat
	}
	return o, nil
}

// expandUser does what Python's os.path.expanduser does on POSIX: a leading "~" or "~/"
// becomes the home directory ("~user" is left alone: we do not read the password database).
func (o *Options) expandUser(p string) string {
	if p == "~" {
		return o.Home
	}
	if strings.HasPrefix(p, "~/") && o.Home != "" {
		return filepath.Join(o.Home, p[2:])
	}
	return p
}

// abs resolves p against o.Dir, as a process running in Dir would open it, and says whether
// it was relative.
func (o *Options) abs(p string) (string, bool) {
	if filepath.IsAbs(p) {
		return filepath.Clean(p), false
	}
	return filepath.Join(o.Dir, p), true
}

// hostPort writes host and port the way a profile's hosts list takes them: IPv6 literals
// in brackets.
func hostPort(host string, port int) string {
	return net.JoinHostPort(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), strconv.Itoa(port))
}

// fileSource is a material source for an absolute path.
func fileSource(path string) *schema.MaterialSource { return &schema.MaterialSource{File: path} }
