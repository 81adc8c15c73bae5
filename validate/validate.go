// Package validate checks connfactory profiles after the loaders have merged defaults and
// followed extends, and reports every problem at once, each at its dotted config path
// (profiles.cass_prod.tls.key) with where the value came from.
//
// Field rules run through go-playground/validator with rules registered from here (the
// schema types stay free of validator tags, so schema imports nothing of ours or of the
// validator's); rules that span fields or depend on the backend run as struct-level
// validations. Messages say what is wrong and what is accepted, and never print a secret.
package validate

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"

	"github.com/connfactory/connfactory/internal/parallel"
	"github.com/connfactory/connfactory/internal/suggest"
	"github.com/connfactory/connfactory/schema"
)

// msgTag is the tag of problems reported by struct-level rules: their param is the
// finished message, so that each rule's wording sits next to the rule.
const msgTag = "msg"

var (
	once     sync.Once
	instance *validator.Validate
)

// validatorInstance builds the validator once; a *validator.Validate is safe for
// concurrent use and caches struct metadata, so one instance serves every call.
func validatorInstance() *validator.Validate {
	once.Do(func() {
		v := validator.New(validator.WithRequiredStructEnabled())
		v.RegisterTagNameFunc(func(f reflect.StructField) string {
			name, _, _ := strings.Cut(f.Tag.Get("koanf"), ",")
			if name == "" || name == "-" {
				return f.Name
			}
			return name
		})
		must(v.RegisterValidation("backend", func(fl validator.FieldLevel) bool {
			return slices.Contains(schema.Backends, schema.Backend(fl.Field().String()))
		}))
		must(v.RegisterValidation("hostport", func(fl validator.FieldLevel) bool {
			_, err := schema.ParseHost(fl.Field().String(), "")
			return err == nil
		}))
		must(v.RegisterValidation("tlsmode", func(fl validator.FieldLevel) bool {
			return slices.Contains(schema.TLSModes, schema.TLSMode(fl.Field().String()))
		}))
		must(v.RegisterValidation("tlsversion", func(fl validator.FieldLevel) bool {
			_, ok := schema.TLSVersions[schema.TLSVersion(fl.Field().String())]
			return ok
		}))
		must(v.RegisterValidation("crlstale", func(fl validator.FieldLevel) bool {
			return slices.Contains(schema.CRLStales, schema.CRLStale(fl.Field().String()))
		}))
		must(v.RegisterValidation("consistency", func(fl validator.FieldLevel) bool {
			return slices.Contains(schema.Consistencies, fl.Field().String())
		}))

		v.RegisterStructValidationMapRules(map[string]string{
			"Backend":        "required,backend",
			"Hosts":          "min=1,dive,hostport",
			"Consistency":    "omitempty,consistency",
			"ConnectTimeout": "gte=0",
			"Timeout":        "gte=0",
		}, schema.Profile{})
		v.RegisterStructValidationMapRules(map[string]string{
			"PerHost": "dive",
		}, schema.Auth{})
		v.RegisterStructValidationMapRules(map[string]string{
			"Host":     "required",
			"Username": "required",
			"Password": "required",
		}, schema.HostCredentials{})
		v.RegisterStructValidationMapRules(map[string]string{
			"Mode":          "omitempty,tlsmode",
			"CA":            "dive",
			"CRL":           "dive",
			"CRLStale":      "omitempty,crlstale",
			"MinVersion":    "omitempty,tlsversion",
			"MaxVersion":    "omitempty,tlsversion",
			"Reload":        "gte=0",
			"ExpiryWarning": "gte=0",
		}, schema.TLS{})

		v.RegisterStructValidation(profileRules, schema.Profile{})
		v.RegisterStructValidation(tlsRules, schema.TLS{})
		instance = v
	})
	return instance
}

func must(err error) {
	if err != nil {
		panic("validate: " + err.Error())
	}
}

// Config validates every profile of cfg (the loaders have applied defaults and extends)
// and returns every problem, each with its dotted path and, from cfg.Origins, its source.
// The defaults section itself is not validated: it only matters through the profiles it
// is merged into, and each of those is.
func Config(cfg *schema.Config) schema.Problems {
	ps, _ := ConfigContext(context.Background(), cfg)
	return ps
}

// ConfigContext is Config stopping early, with ctx.Err(), once ctx is done (checked
// every parallel.Chunk profiles). Profiles are validated over GOMAXPROCS goroutines; the
// problems are the same, in the same order, as one at a time.
func ConfigContext(ctx context.Context, cfg *schema.Config) (schema.Problems, error) {
	if cfg == nil {
		return schema.Problems{{Message: "no configuration"}}, nil
	}
	// Profiles are validated independently, over the machine's cores; their problems are
	// gathered in name order, then sorted as ever.
	names := sortedNames(cfg.Profiles)
	per := make([]schema.Problems, len(names))
	parallel.For(len(names), func() bool { return ctx.Err() != nil }, func(i int) {
		per[i] = Profile(names[i], cfg.Profiles[names[i]], cfg.Origins)
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var ps schema.Problems
	for _, p := range per {
		ps = append(ps, p...)
	}
	return ps.Sorted(), nil
}

// Origins says where a config path's value came from: a schema.Origins (Config.Origins),
// or nil for a profile built in Go.
type Origins interface {
	// Of is the origin of path or of its nearest ancestor or first descendant.
	Of(path string) string
	// Lookup is the origin recorded for exactly path, and whether there is one.
	Lookup(path string) (string, bool)
}

// originOf is origins.Of(path), "" for nil origins.
func originOf(origins Origins, path string) string {
	if origins == nil {
		return ""
	}
	return origins.Of(path)
}

// hasOrigin reports whether exactly path has an origin: it was written in a file, the
// environment or a Go layer.
func hasOrigin(origins Origins, path string) bool {
	_, ok := origins.Lookup(path)
	return ok
}

// Profile validates one profile under the path prefix "profiles."+name and returns every
// problem. origins may be nil (a profile built in Go).
func Profile(name string, p *schema.Profile, origins Origins) schema.Problems {
	prefix := "profiles." + name
	var ps schema.Problems
	add := func(path, msg string) {
		ps = append(ps, schema.Problem{Path: path, Message: msg, Source: originOf(origins, path)})
	}
	if !schema.ValidProfileName(name) {
		add(prefix, schema.ProfileNameProblem(name))
	}
	if p == nil {
		add(prefix, "profile is empty: it needs at least backend and hosts")
		return ps
	}
	err := validatorInstance().Struct(p)
	var verrs validator.ValidationErrors
	if errors.As(err, &verrs) {
		for _, fe := range verrs {
			path := prefix + relativePath(fe.Namespace())
			if fe.Tag() == msgTag && (strings.Contains(fe.Param(), cassandraOnly) || strings.Contains(fe.Param(), riakOnly)) &&
				strings.HasSuffix(originOf(origins, path), viaDefaults) {
				// [defaults] is shared by both backends: a Cassandra-only key set there
				// simply does not apply to a Riak profile (the Riak connector ignores it).
				continue
			}
			add(path, message(fe))
		}
	} else if err != nil {
		add(prefix, "validate: "+err.Error())
	}
	// A count of 0 reads as "not set" in Go; written in a file or the environment it is a
	// mistake.
	for _, key := range []string{"connections_per_host", "max_connections_per_host"} {
		path := prefix + ".pool." + key
		if written := origins != nil && hasOrigin(origins, path); written && p.Pool != nil && poolCount(p.Pool, key) == 0 {
			add(path, fmt.Sprintf("%s must be 1 to %d (is 0)", key, schema.MaxPoolConnections))
		}
	}
	return ps.Sorted()
}

// cassandraOnly is in the message of a Cassandra-only key set on a Riak profile (riakOnly
// the other way round);
// viaDefaults ends the origin loaders give a value inherited from [defaults].
const (
	cassandraOnly = "applies to cassandra only"
	viaDefaults   = "via defaults"
)

// relativePath turns a validator namespace ("Profile.tls.ca[0]") into the part of a config
// path after the profile (".tls.ca[0]").
func relativePath(ns string) string {
	_, rest, ok := strings.Cut(ns, ".")
	if !ok {
		return ""
	}
	return "." + rest
}

// message words a validator error. Values are printed only for fields that cannot hold a
// secret.
func message(fe validator.FieldError) string {
	field := fe.Field()
	if i := strings.IndexByte(field, '['); i >= 0 {
		field = field[:i]
	}
	val := fmt.Sprint(fe.Value())
	switch fe.Tag() {
	case msgTag:
		return fe.Param()
	case "required":
		if field == "backend" {
			return "backend is required: accepted " + join(schema.Backends)
		}
		return field + " is required"
	case "min":
		if field == "hosts" {
			return "at least one host is required, written host[:port]"
		}
		return field + " needs at least " + fe.Param() + " entries"
	case "gte":
		return field + " must not be negative"
	case "backend":
		return fmt.Sprintf("backend %q is not known: accepted %s%s", val, join(schema.Backends), didYouMean(val, schema.Backends))
	case "hostport":
		_, err := schema.ParseHost(val, "")
		return err.Error()
	case "tlsmode":
		return fmt.Sprintf("tls mode %q is not known: accepted %s%s", val, join(schema.TLSModes), didYouMean(val, schema.TLSModes))
	case "tlsversion":
		return fmt.Sprintf("TLS version %q is not known: accepted %s", val, join(schema.TLSVersionNames))
	case "crlstale":
		return fmt.Sprintf("crl_stale %q is not known: accepted %s%s", val, join(schema.CRLStales), didYouMean(val, schema.CRLStales))
	case "consistency":
		return fmt.Sprintf("consistency %q is not known: accepted %s%s", val, join(schema.Consistencies), didYouMean(val, schema.Consistencies))
	}
	return fmt.Sprintf("%s fails the %q rule", field, fe.Tag())
}

// didYouMean returns `; did you mean "x"?` for the accepted value val was probably meant
// to be ("Password" for "password"), or "".
func didYouMean[T ~string](val string, accepted []T) string {
	names := make([]string, len(accepted))
	for i, v := range accepted {
		names[i] = string(v)
	}
	return suggest.DidYouMean(val, names)
}

// join lists accepted values for a message: "a, b, c".
func join[T ~string](vs []T) string { return schema.Accepted(vs) }

func sortedNames(m map[string]*schema.Profile) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func poolCount(p *schema.Pool, key string) int {
	if key == "connections_per_host" {
		return p.ConnectionsPerHost
	}
	return p.MaxConnectionsPerHost
}
