package loaders

import (
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/connfactory/connfactory/schema"
)

// resolver loads sources into entries, keyed by config path relative to the profile
// (schema values are never written). fs, if set, serves relative file paths; origins, if
// set, gives the origin of each config path below prefix (keyed relative to it: one
// profile's origins) for problems.
type resolver struct {
	fs        fs.FS
	lookupEnv func(string) (string, bool)
	origins   map[string]string
	// prefix is the config path of the profile being resolved, with a trailing dot
	// ("profiles.x."): entries are keyed relative to it.
	prefix string
	// read memoises readFile for one run: 10,000 profiles naming one CA bundle share one
	// copy of its bytes (the factory never modifies material). Its keys are the files
	// read (Material.Files).
	read map[string]fileRead
	// tab holds the run's paths and values once each; pathIDs and valueIDs index them
	// (a value by what it came from: "file PATH", "env NAME").
	tab      *table
	pathIDs  map[string]uint32
	valueIDs map[string]uint32
	// out collects the entries of the profile being resolved.
	out []entry
}

type fileRead struct {
	b    []byte
	mode uint32
	err  error
}

func (r *resolver) origin(path string) string {
	rel, ok := strings.CutPrefix(path, r.prefix)
	if r.origins == nil || !ok {
		return ""
	}
	return originUnder(r.origins, rel)
}

// keep records what the source at config path resolved to. from names where v came
// from when other sources may share it ("file PATH", "env NAME"; "" for none): one value
// then serves every profile.
func (r *resolver) keep(path, from string, v value) {
	if r.tab == nil {
		r.tab, r.pathIDs, r.valueIDs = &table{}, map[string]uint32{}, map[string]uint32{}
	}
	rel, _ := strings.CutPrefix(path, r.prefix)
	pid, ok := r.pathIDs[rel]
	if !ok {
		pid = uint32(len(r.tab.paths))
		r.tab.paths = append(r.tab.paths, strings.Clone(rel))
		r.pathIDs[r.tab.paths[pid]] = pid
	}
	vid, ok := r.valueIDs[from]
	if !ok || from == "" {
		vid = uint32(len(r.tab.values))
		r.tab.values = append(r.tab.values, v)
		if from != "" {
			r.valueIDs[from] = vid
		}
	}
	r.out = append(r.out, entry{path: pid, val: vid})
}

// entries returns the entries collected since the last call, in a slice of their own.
func (r *resolver) entries() []entry {
	if len(r.out) == 0 {
		return nil
	}
	out := slices.Clone(r.out)
	clear(r.out)
	r.out = r.out[:0]
	return out
}

func (r *resolver) profile(path string, p *schema.Profile) schema.Problems {
	var ps schema.Problems
	if p == nil {
		return nil
	}
	for key, sec := range p.Auth.Secrets() {
		ps = append(ps, r.secret(path+".auth."+key, sec)...)
	}
	if p.TLS != nil {
		ps = append(ps, r.tls(path+".tls", p.TLS)...)
	}
	return ps
}

func (r *resolver) tls(path string, t *schema.TLS) schema.Problems {
	var ps schema.Problems
	if t == nil {
		return nil
	}
	for key, m := range t.Sources() {
		ps = append(ps, r.material(path+"."+key, m, schema.IsCAPath(key))...)
	}
	ps = append(ps, r.keyStores(path, t)...)
	return ps
}

// secret resolves s: an env or file source into an entry (a literal needs none: the
// factory takes it from s). An env or file source resolving to the empty secret is a
// problem: an empty password or passphrase is always a mistake. Messages name the
// source, never the secret.
func (r *resolver) secret(path string, s *schema.SecretSource) schema.Problems {
	src := r.origin(path)
	n := 0
	for _, set := range []bool{s.Value != "", s.Env != "", s.File != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return schema.Problems{problem(path, src, "a secret source takes exactly one of a literal value, {env=..} or {file=..}; %d are set", n)}
	}
	switch {
	case s.Env != "":
		v, ok := r.lookupEnv(s.Env)
		if !ok {
			return schema.Problems{problem(path, src, "environment variable %s is not set", s.Env)}
		}
		if v == "" {
			return schema.Problems{problem(path, src, "environment variable %s is set but empty: an empty secret is refused", s.Env)}
		}
		r.keep(path, "secret env "+s.Env, value{secret: schema.Secret(v)})
	case s.File != "":
		b, _, err := r.readFile(s.File)
		if err != nil {
			return schema.Problems{problem(path, src, "secret file %s: %s", s.File, err)}
		}
		v := strings.TrimSuffix(string(b), "\n")
		v = strings.TrimSuffix(v, "\r")
		if v == "" {
			return schema.Problems{problem(path, src, "secret file %s is empty: an empty secret is refused", s.File)}
		}
		r.keep(path, "secret file "+s.File, value{secret: schema.Secret(v)})
	}
	return nil
}

// material resolves m into an entry: its bytes (and Mode for files).
func (r *resolver) material(path string, m *schema.MaterialSource, isCA bool) schema.Problems {
	src := r.origin(path)
	var ps schema.Problems
	if m.Passphrase != nil {
		ps = append(ps, r.secret(path+".passphrase", m.Passphrase)...)
	}
	n := 0
	for _, set := range []bool{m.File != "", m.Env != "", m.PEM != "", m.Base64 != "", m.EnvBase64 != "", m.System} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return append(ps, problem(path, src, "a material source takes exactly one of file, env, pem, base64, env_base64 or \"system\"; %d are set", n))
	case n == 0:
		return append(ps, problem(path, src, "no source given: %s", materialForms))
	case m.System:
		if !isCA {
			return append(ps, problem(path, src, `"system" is only a CA source (the operating system's trust store)`))
		}
		return ps
	}
	var (
		data []byte
		mode uint32
		from string // where data came from, when other sources may name the same
	)
	switch {
	case m.File != "":
		b, perm, err := r.readFile(m.File)
		if err != nil {
			return append(ps, problem(path, src, "file %s: %s", m.File, err))
		}
		data, mode, from = b, perm, "file "+m.File
	case m.Env != "":
		v, ok := r.lookupEnv(m.Env)
		if !ok {
			return append(ps, problem(path, src, "environment variable %s is not set", m.Env))
		}
		data, from = []byte(unescapeNewlines(v)), "env "+m.Env
	case m.PEM != "":
		data = []byte(unescapeNewlines(m.PEM.Reveal()))
	case m.Base64 != "":
		b, err := decodeBase64(m.Base64.Reveal())
		if err != nil {
			return append(ps, problem(path, src, "inline base64 does not decode: %s", err))
		}
		data = b
	case m.EnvBase64 != "":
		v, ok := r.lookupEnv(m.EnvBase64)
		if !ok {
			return append(ps, problem(path, src, "environment variable %s is not set", m.EnvBase64))
		}
		b, err := decodeBase64(v)
		if err != nil {
			return append(ps, problem(path, src, "environment variable %s does not hold base64: %s", m.EnvBase64, err))
		}
		data, from = b, "env_base64 "+m.EnvBase64
	}
	if len(data) == 0 {
		return append(ps, problem(path, src, "%s is empty", m.Describe()))
	}
	r.keep(path, from, value{data: data, mode: mode})
	return ps
}

// readFile reads a source file, refusing directories, and returns its permission bits.
// Errors carry the operating system's reason, never content.
func (r *resolver) readFile(p string) ([]byte, uint32, error) {
	if fr, ok := r.read[p]; ok {
		return fr.b, fr.mode, fr.err
	}
	b, mode, err := r.readFileOnce(p)
	if r.read == nil {
		r.read = map[string]fileRead{}
	}
	r.read[p] = fileRead{b, mode, err}
	return b, mode, err
}

func (r *resolver) readFileOnce(p string) ([]byte, uint32, error) {
	var (
		info fs.FileInfo
		err  error
		b    []byte
	)
	if r.fs != nil && !filepath.IsAbs(p) {
		name := path.Clean(filepath.ToSlash(p))
		if !fs.ValidPath(name) {
			return nil, 0, fmt.Errorf("path leaves the configuration file system")
		}
		if info, err = fs.Stat(r.fs, name); err == nil && !info.IsDir() {
			if err = regularFile(info); err == nil {
				b, err = fs.ReadFile(r.fs, name)
			}
		}
	} else if info, err = os.Stat(p); err == nil && !info.IsDir() {
		if err = regularFile(info); err == nil {
			b, err = os.ReadFile(p)
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%s", osReason(err))
	}
	if info.IsDir() {
		return nil, 0, fmt.Errorf("is a directory")
	}
	return b, uint32(info.Mode().Perm()), nil
}

// maxSourceFile bounds what a source file may hold: certificates, keys and CRLs (a CRL of
// a million entries is some 40 MB).
const maxSourceFile = 64 << 20

// regularFile refuses what would hang or exhaust a read: devices, pipes, sockets
// (/dev/zero, a FIFO nobody writes), and files beyond maxSourceFile.
func regularFile(info fs.FileInfo) error {
	if t := info.Mode().Type(); t != 0 {
		kind := "special file"
		switch {
		case t&fs.ModeDevice != 0:
			kind = "device"
		case t&fs.ModeNamedPipe != 0:
			kind = "named pipe"
		case t&fs.ModeSocket != 0:
			kind = "socket"
		}
		return fmt.Errorf("is a %s, not a regular file", kind)
	}
	if info.Size() > maxSourceFile {
		return fmt.Errorf("is %d bytes, more than the %d a certificate, key or CRL file may have", info.Size(), maxSourceFile)
	}
	return nil
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b2, err2 := base64.RawStdEncoding.DecodeString(s); err2 == nil {
			return b2, nil
		}
		return nil, err
	}
	return b, nil
}

// unescapeNewlines turns a one-line PEM with literal \n (how PEM often travels through
// environment variables and CI secrets) into real lines.
func unescapeNewlines(s string) string {
	if strings.Contains(s, "\n") || !strings.Contains(s, `\n`) {
		return s
	}
	return strings.ReplaceAll(s, `\n`, "\n")
}
