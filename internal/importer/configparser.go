package importer

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// iniFile is a file as Python's configparser.ConfigParser reads it with cqlsh's settings
// (the defaults): sections are case-sensitive, option names are lower-cased, "=" or ":"
// separates a name from its value (the first of either), "#" and ";" start comment lines
// only (no inline comments), indented lines continue a value, [DEFAULT] is inherited by
// every section, and a repeated section or option is an error.
type iniFile struct {
	defaults map[string]iniValue
	sections map[string]map[string]iniValue
	order    []iniKey // every option in file order, for notes about the ones not used
}

// iniValue is one option's raw value and the line it starts on.
type iniValue struct {
	raw  string
	line int
}

// iniKey names one option.
type iniKey struct{ section, option string }

const iniDefault = "DEFAULT"

var (
	// iniSection is configparser's SECTCRE, matched (not fully) against the stripped line.
	iniSection = regexp.MustCompile(`^\[(.+)\]`)
	// iniOption is configparser's OPTCRE: the shortest name, then the first = or :.
	iniOption = regexp.MustCompile(`^(.*?)\s*([=:])\s*(.*)$`)
)

// parseINI reads data as configparser does; an error is one configparser raises, which
// makes cqlsh stop before connecting.
func parseINI(data []byte) (*iniFile, error) {
	f := &iniFile{defaults: map[string]iniValue{}, sections: map[string]map[string]iniValue{}}
	var (
		cur       map[string]iniValue
		curName   string
		opt       string
		optLines  []string
		optLine   int
		indent    = -1
		seen      = map[string]bool{}
		firstErr  error
		parseFail = func(n int, line string) {
			if firstErr == nil {
				firstErr = fmt.Errorf("line %d: %q: configparser cannot parse this line (cqlsh would stop here)", n, strings.TrimSpace(line))
			}
		}
	)
	flush := func() {
		if cur != nil && opt != "" && optLines != nil {
			cur[opt] = iniValue{raw: strings.TrimRight(strings.Join(optLines, "\n"), " \t\r\n"), line: optLine}
		}
		optLines = nil
	}
	text := strings.TrimPrefix(string(data), "\ufeff")
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		n := i + 1
		trimmed := strings.TrimSpace(line)
		comment := strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";")
		if comment || trimmed == "" {
			// An empty line belongs to a multi-line value (configparser's
			// empty_lines_in_values); a comment line does not, and neither ends it.
			if !comment && cur != nil && opt != "" && optLines != nil {
				optLines = append(optLines, "")
			}
			continue
		}
		lineIndent := strings.IndexFunc(line, func(r rune) bool { return !unicode.IsSpace(r) })
		if cur != nil && opt != "" && lineIndent > indent {
			if optLines != nil {
				optLines = append(optLines, trimmed)
			}
			continue
		}
		flush()
		indent = lineIndent
		if m := iniSection.FindStringSubmatch(trimmed); m != nil {
			curName, opt = m[1], ""
			switch {
			case seen["["+curName]:
				return nil, fmt.Errorf("line %d: section [%s] appears twice (configparser refuses that; cqlsh would stop)", n, curName)
			case curName == iniDefault:
				cur = f.defaults
			default:
				cur = map[string]iniValue{}
				f.sections[curName] = cur
			}
			seen["["+curName] = true
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("line %d: %q comes before any [section] (configparser refuses that; cqlsh would stop)", n, trimmed)
		}
		m := iniOption.FindStringSubmatch(trimmed)
		if m == nil || m[1] == "" {
			// An IPv6 address as a [certfiles] key lands here: its first ":" ends the name.
			parseFail(n, line)
			opt = ""
			continue
		}
		opt = strings.ToLower(strings.TrimRight(m[1], " \t"))
		key := curName + "\x00" + opt
		if seen[key] {
			return nil, fmt.Errorf("line %d: option %q appears twice in [%s] (configparser refuses that; cqlsh would stop)", n, opt, curName)
		}
		seen[key] = true
		optLines, optLine = []string{strings.TrimSpace(m[3])}, n
		f.order = append(f.order, iniKey{curName, opt})
	}
	flush()
	if firstErr != nil {
		return nil, firstErr
	}
	return f, nil
}

// has reports whether the section exists.
func (f *iniFile) has(section string) bool {
	_, ok := f.sections[section]
	return ok
}

// raw returns an option's value without interpolation (RawConfigParser.get), looking in
// the section, then in [DEFAULT].
func (f *iniFile) raw(section, option string) (string, bool) {
	s, ok := f.sections[section]
	if !ok {
		return "", false
	}
	if v, ok := s[option]; ok {
		return v.raw, true
	}
	v, ok := f.defaults[option]
	return v.raw, ok
}

// get returns an option's value with BasicInterpolation (ConfigParser.get): "%%" is "%",
// "%(name)s" is another option of the section. ok is false when the option is missing;
// err is set when interpolation fails, which cqlsh's option_with_default treats as missing.
func (f *iniFile) get(section, option string) (value string, ok bool, err error) {
	raw, ok := f.raw(section, option)
	if !ok {
		return "", false, nil
	}
	v, err := f.interpolate(section, option, raw, 1)
	return v, true, err
}

// maxInterpolationDepth is configparser's MAX_INTERPOLATION_DEPTH.
const maxInterpolationDepth = 10

func (f *iniFile) interpolate(section, option, raw string, depth int) (string, error) {
	if depth > maxInterpolationDepth {
		return "", fmt.Errorf("[%s] %s: interpolation nested deeper than %d", section, option, maxInterpolationDepth)
	}
	var b strings.Builder
	rest := raw
	for {
		i := strings.IndexByte(rest, '%')
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		b.WriteString(rest[:i])
		rest = rest[i:]
		switch {
		case strings.HasPrefix(rest, "%%"):
			b.WriteByte('%')
			rest = rest[2:]
		case strings.HasPrefix(rest, "%("):
			end := strings.Index(rest, ")s")
			if end < 0 {
				return "", fmt.Errorf("[%s] %s: bad interpolation syntax (a %% must be written %%%%)", section, option)
			}
			name := strings.ToLower(rest[2:end])
			ref, ok := f.raw(section, name)
			if !ok {
				return "", fmt.Errorf("[%s] %s: refers to %%(%s)s, which [%s] does not have", section, option, name, section)
			}
			v, err := f.interpolate(section, name, ref, depth+1)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			rest = rest[end+2:]
		default:
			return "", fmt.Errorf("[%s] %s: '%%' must be followed by '%%' or '(' (write %%%% for a literal %%)", section, option)
		}
	}
}

// iniBooleans are configparser's BOOLEAN_STATES.
var iniBooleans = map[string]bool{"1": true, "yes": true, "true": true, "on": true,
	"0": false, "no": false, "false": false, "off": false}
