package loaders_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/loaders"
)

// hostileCase is a small hostile input: a file (name and content) or an environment.
type hostileCase struct {
	name    string
	file    string // name in the FS; "" for an environment-only case
	content string
	environ []string
	// want is a substring of the single file-level problem; "" means the input loads
	// (possibly with problems about its keys).
	want     string
	profiles int // profiles expected when it loads
}

func deepFlow(open, close string, n int, leaf string) string {
	return strings.Repeat(open, n) + leaf + strings.Repeat(close, n)
}

func tableWithKeys(n int) string {
	var b strings.Builder
	b.WriteString("[profiles.p]\nbackend = \"riak\"\nhosts = [\"h\"]\n[profiles.p.tls]\n")
	for i := range n {
		fmt.Fprintf(&b, "k%d = %d\n", i, i)
	}
	return b.String()
}

func envProfiles(n int) []string {
	env := make([]string, 0, 2*n)
	for i := range n {
		env = append(env, fmt.Sprintf("CONNFACTORY_PROFILES__P%d__BACKEND=riak", i), fmt.Sprintf("CONNFACTORY_PROFILES__P%d__HOSTS=h%d", i, i))
	}
	return env
}

func hostileCases() []hostileCase {
	dotted := func(n int) string { return strings.TrimSuffix(strings.Repeat("a.", n), ".") + " = 1\n" }
	manyVars := make([]string, 0, 100_000)
	for i := range 100_000 {
		manyVars = append(manyVars, fmt.Sprintf("CONNFACTORY_X__K%d=v", i))
	}
	otherVars := make([]string, 0, 100_000)
	for i := range 100_000 {
		otherVars = append(otherVars, fmt.Sprintf("SOMETHING_ELSE_%d=v", i))
	}
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'k'; i++ {
		laughs += fmt.Sprintf("%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	return []hostileCase{
		{name: "toml dotted key 20000 segments", file: "a.toml", content: dotted(20_000), want: "line 1, column 1: key has 20000 segments, more than the limit of 32"},
		{name: "toml dotted key 100000 segments", file: "a.toml", content: dotted(100_000), want: "key has 100000 segments, more than the limit of 32"},
		{name: "toml header 5000 segments", file: "a.toml", content: "[" + strings.TrimSuffix(strings.Repeat("a.", 5000), ".") + "]\n", want: "line 1, column 1: key has 5000 segments"},
		{name: "toml 5000-deep tables", file: "a.toml", content: func() string {
			var b strings.Builder
			for i := 1; i <= 5000; i++ {
				b.WriteString("[" + strings.TrimSuffix(strings.Repeat("a.", i%30+1), ".") + "]\nx = 1\n")
			}
			return "a = " + deepFlow("{a = ", "}", 5000, "1") + "\n" + b.String()
		}(), want: "line 1, column 160: nesting deeper than the limit of 32 levels"},
		{name: "toml 9000-deep arrays", file: "a.toml", content: "a = " + deepFlow("[", "]", 9000, "1") + "\n", want: "nesting deeper than the limit of 32 levels"},
		{name: "yaml 9000 deep", file: "a.yaml", content: "profiles: " + deepFlow("{a: ", "}", 9000, "1") + "\n", want: "nesting deeper than the limit of 32 levels"},
		{name: "yaml 9000-deep lists", file: "a.yaml", content: "profiles: " + deepFlow("[", "]", 9000, "1") + "\n", want: "nesting deeper than the limit of 32 levels"},
		{name: "yaml dotted key 20000 segments", file: "a.yaml", content: "? " + strings.Repeat("a.", 20_000) + "a\n: 1\n", want: "line 1, column 3: key has 20001 segments"},
		{name: "yaml alias bomb", file: "a.yaml", content: laughs, want: "aliases expand to more than the limit of"},
		{name: "yaml 20000-deep lists (beyond the library's bound)", file: "a.yaml", content: "profiles: " + deepFlow("[", "]", 20_000, "1") + "\n", want: "line 1, column 43: nesting deeper than the limit of 32 levels"},
		{name: "json 9000 deep", file: "a.json", content: `{"profiles": ` + deepFlow(`{"a": `, "}", 9000, "1") + "}", want: "nesting deeper than the limit of 32 levels"},
		{name: "json 9000-deep lists", file: "a.json", content: `{"profiles": ` + deepFlow("[", "]", 9000, "1") + "}", want: "nesting deeper than the limit of 32 levels"},
		{name: "json dotted key 20000 segments", file: "a.json", content: `{"` + strings.Repeat("a.", 20_000) + `a": 1}`, want: "key has 20001 segments"},
		{name: "toml table with 10k keys", file: "a.toml", content: tableWithKeys(10_000), profiles: 1},
		{name: "toml table with 40k keys", file: "a.toml", content: tableWithKeys(40_000), profiles: 1},
		{name: "env 100000 CONNFACTORY_ variables", environ: manyVars},
		{name: "env 100000 other variables", environ: otherVars},
		{name: "env 2000 profiles", environ: envProfiles(2000), profiles: 2000},
		{name: "env 40 segments", environ: []string{"CONNFACTORY_" + strings.Repeat("A__", 40) + "B=1"}, want: "41 segments, more than the limit of 32"},
	}
}

func loadHostile(c hostileCase) error {
	opts := loaders.Options{EnvPrefix: "-", LookupEnv: func(string) (string, bool) { return "", false }}
	if c.file != "" {
		opts.FS = fstest.MapFS{c.file: &fstest.MapFile{Data: []byte(c.content)}}
		opts.Files = []string{c.file}
	} else {
		opts.EnvPrefix, opts.Environ = "", c.environ
	}
	_, _, err := loaders.Load(opts)
	return err
}

// TestHostileInputs: each input is rejected at a position, with the limit named, or
// loads; what it costs is measured by BenchmarkHostileInputs (timings are not asserted in
// tests).
func TestHostileInputs(t *testing.T) {
	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) {
			opts := loaders.Options{EnvPrefix: "-"}
			if c.file != "" {
				opts.FS = fstest.MapFS{c.file: &fstest.MapFile{Data: []byte(c.content)}}
				opts.Files = []string{c.file}
			} else {
				opts.EnvPrefix, opts.Environ = "", c.environ
			}
			cfg, ps := load(t, opts)
			if c.want != "" {
				require.Len(t, ps, 1, "%.2000s", ps.Error())
				require.Contains(t, ps[0].Message, c.want)
				return
			}
			for _, p := range ps {
				require.NotContains(t, p.Message, "malformed")
			}
			require.Len(t, cfg.Profiles, c.profiles)
		})
	}
}

func TestKeysPerTableLimit(t *testing.T) {
	defer loaders.SetKeysPerTable(100)()
	many := func(format string) string {
		var b strings.Builder
		for i := range 101 {
			fmt.Fprintf(&b, format, i)
		}
		return b.String()
	}
	cases := map[string]string{
		"a.toml": "[profiles.p.tls]\n" + many("k%d = 1\n"),
		"a.yaml": "profiles:\n  p:\n" + many("    k%d: 1\n"),
		"a.json": `{"profiles": {"p": {` + strings.TrimSuffix(many(`"k%d": 1,`), ",") + "}}}",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			f := write(t, t.TempDir(), name, content)
			_, ps := load(t, loaders.Options{Files: []string{f}})
			require.Len(t, ps, 1, ps.Error())
			require.Contains(t, ps[0].Message, "has more than the limit of 100 keys")
		})
	}
	t.Run("env", func(t *testing.T) {
		var env []string
		for i := range 101 {
			env = append(env, fmt.Sprintf("CONNFACTORY_PROFILES__P__K%d__X=1", i))
		}
		_, ps := load(t, loaders.Options{Environ: env})
		findProblem(t, ps, "profiles.p", "has more than the limit of 100 keys")
	})
}

// BenchmarkHostileInputs measures each hostile input: go test -run '^$' -bench HostileInputs -benchmem ./loaders
func BenchmarkHostileInputs(b *testing.B) {
	for _, c := range hostileCases() {
		b.Run(strings.ReplaceAll(c.name, " ", "_"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = loadHostile(c)
			}
		})
	}
	for _, n := range []int{10_000, 20_000, 40_000} {
		content := tableWithKeys(n)
		b.Run(fmt.Sprintf("toml_table_keys/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = loadHostile(hostileCase{file: "a.toml", content: content})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
		})
	}
}
