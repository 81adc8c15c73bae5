package loaders

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/internal/bigconfig"
)

// fastTOMLCases are documents at the edges of the fast parser's subset and of TOML's
// rules on redefinition: each one either is taken by fastTOML with the slow path's tree,
// or left to the slow path.
var fastTOMLCases = []string{
	"",
	"# only a comment",
	"a = 1\r\nb = 'x'\r\n",
	"a = 1\rb = 2",
	"a = -0\nb = +12\nc = 0.5\nd = -1e-3\ne = 1E+2\nf = 0e0\ng = 9223372036854775807\n",
	"a = 9223372036854775808",
	"a = 1e400",
	"a = 01", "a = 1_000", "a = 0x10", "a = inf", "a = nan", "a = 1.", "a = .5", "a = 1979-05-27",
	"a = true\nb = false\nc = truex", "a = [true,false,]",
	"a = [\n  1, # one\n  'two',\n  [3, 4.5],\n  { x = 1 },\n]\n",
	"a = []\nb = {}\nc = [[]]\nd = [{}]",
	"a = { b = 1, }", "a = { b = 1,\n c = 2 }", "a = { b = [\n1,\n2] }",
	"a = { b.c = 1, b.d = 2 }", "a = { b = { c = 1 }, b.d = 2 }", "a = { b = 1, b = 2 }",
	"a.b = 1\na.c = 2\n", "a.b = 1\na = 2\n", "a = 1\na.b = 2\n", "a = { b = 1 }\na.c = 2\n",
	"[a]\nb.c = 1\n[a.b]\n", "[a]\nb.c = 1\n[a.b.d]\nx = 1\n", "[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n",
	"[a.b]\nx = 1\n[a]\ny = 2\n", "[a]\n[a]\n", "[a.b]\n[a]\n[a]\n", "[a]\nb = 1\n[a.b]\n",
	"[[a]]\nx = 1\n[[a]]\nx = 2\n[a.b]\ny = 3\n", "a = []\n[[a]]\n", "[a]\n[[a]]\n", "[[a]]\n[a]\n",
	"[[a.b]]\n[a]\nc = 1\n", "[a]\nb = [ { c = 1 } ]\n[a.b]\n", "[[a]]\n[[a.b]]\nx = 1\n[[a.b]]\nx = 2\n[[a]]\n",
	`"quoted" = 1`, `"q.d" = 1`, `"" = 1`, `'lit\eral' = 1`, `a = "esc\n"`, `a = 'lit\eral'`,
	`a = """multi"""`, "a = '''multi'''", "a = \"tab\there\"", "a = \"bad\x01\"", "# bad \x01 comment",
	"[ a . b ]\nc=1", "[ [a] ]", "[[a] ]", "[a]]", "[a] x", "a = 1 # c\n", "a = 1 b = 2", "a =", "= 1",
	"a . b = 1", "a.'b'.\"c\" = 1", "[a.'b c']\nd = 1", "\ufeffa = 1", "ключ = 1", "a = \"ключ\"",
	"[profiles.p]\nbackend = \"cassandra\"\nhosts = [\"h:9042\"]\nauth = { mechanism = \"password\", username = \"app\", password = { env = \"PW\" } }\ntls = { mode = \"verify-full\", ca = { file = \"ca.pem\" }, crl = [{ file = \"crl.pem\" }] }\n",
}

// tomlTestCorpus is BurntSushi/toml's copy of the toml-test suite, when it is in the
// module cache (it is whenever this module's dependencies are).
func tomlTestCorpus(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/BurntSushi/toml").Output()
	if err != nil {
		t.Logf("no toml-test corpus: %v", err)
		return out
	}
	root := filepath.Join(strings.TrimSpace(string(dir)), "internal", "toml-test", "tests")
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".toml") {
			if b, err := os.ReadFile(p); err == nil {
				out[p] = b
			}
		}
		return nil
	})
	return out
}

// moduleTOML is every TOML file of the module, and the fuzz seeds of FuzzLoadTOML.
func moduleTOML(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		switch {
		case err != nil:
			return err
		case strings.HasSuffix(p, ".toml"):
			out[p] = b
		case strings.Contains(p, filepath.Join("testdata", "fuzz", "FuzzLoadTOML")) || strings.Contains(p, filepath.Join("testdata", "fuzz", "FuzzFastTOML")):
			for _, l := range strings.Split(string(b), "\n") {
				if q, ok := strings.CutPrefix(l, "[]byte("); ok {
					if s, err := strconv.Unquote(strings.TrimSuffix(q, ")")); err == nil {
						out[p] = []byte(s)
					}
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// checkFastTOML requires that whatever fastTOML takes, the slow path takes too, with the
// same tree.
func checkFastTOML(t testing.TB, name string, b []byte) bool {
	if !utf8.Valid(b) || scanTOML(b) != nil {
		return false // parseTOML refuses it before either parser runs
	}
	m, ok := fastTOML(b)
	if !ok {
		return false
	}
	want, nulls, err := slowTOML(b)
	require.NoError(t, err, "%s: the fast parser took a document the slow path refuses:\n%s", name, b)
	require.Empty(t, nulls)
	require.Equal(t, want, m, "%s:\n%s", name, b)
	return true
}

// The fast TOML parser against the slow path (BurntSushi/toml and our checks), on every
// TOML document at hand.
func TestFastTOMLMatchesSlowPath(t *testing.T) {
	taken := 0
	for i, c := range fastTOMLCases {
		if checkFastTOML(t, "case "+strconv.Itoa(i), []byte(c)) {
			taken++
		}
	}
	for name, b := range moduleTOML(t) {
		if checkFastTOML(t, name, b) {
			taken++
		}
	}
	corpus := tomlTestCorpus(t)
	valid := 0
	for name, b := range corpus {
		if checkFastTOML(t, name, b) {
			taken++
			require.NotContains(t, name, string(filepath.Separator)+"invalid"+string(filepath.Separator), "an invalid toml-test document was taken")
			valid++
		}
	}
	t.Logf("fast parser took %d documents (%d of toml-test's %d)", taken, valid, len(corpus))
	if len(corpus) > 0 {
		require.NotZero(t, valid)
	}

	// What configurations are written as is taken: the examples and the benchmarks'.
	for _, doc := range [][]byte{bigconfig.TOML(50), profilesTOML(50)} {
		require.True(t, checkFastTOML(t, "generated", doc))
	}
	for name, b := range moduleTOML(t) {
		if strings.HasPrefix(name, filepath.Join("..", "examples")) && !strings.Contains(name, "broken") {
			require.True(t, checkFastTOML(t, name, b), "%s is not taken by the fast parser", name)
		}
	}
}

// The limits hold on the fast path: a table one key over the limit goes to the slow
// path, which reports it.
func TestFastTOMLLimits(t *testing.T) {
	old := limits.KeysPerTable
	limits.KeysPerTable = 3
	defer func() { limits.KeysPerTable = old }()
	_, ok := fastTOML([]byte("a = 1\nb = 2\nc = 3\n"))
	require.True(t, ok)
	for _, doc := range []string{"a = 1\nb = 2\nc = 3\nd = 4\n", "[t]\na = 1\nb = 2\nc = 3\nd = 4\n", "t = { a = 1, b = 2, c = 3, d = 4 }"} {
		_, ok = fastTOML([]byte(doc))
		require.False(t, ok, doc)
		_, _, err := parseTOML([]byte(doc))
		require.ErrorContains(t, err, "has more than the limit of 3 keys")
	}
	deep := strings.Repeat("a.", limits.Depth) + "a = 1"
	_, ok = fastTOML([]byte(deep))
	require.False(t, ok)
	deep = "[" + strings.Repeat("a.", limits.Depth-1) + "a]"
	_, ok = fastTOML([]byte(deep))
	require.True(t, ok)
}

// FuzzFastTOML looks for a document the fast parser takes differently from the slow
// path:
//
//	go test -run '^$' -fuzz FuzzFastTOML -fuzztime 60s ./loaders
func FuzzFastTOML(f *testing.F) {
	for _, c := range fastTOMLCases {
		f.Add([]byte(c))
	}
	for _, b := range moduleTOML(f) {
		f.Add(b)
	}
	for _, b := range tomlTestCorpus(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkFastTOML(t, "fuzz", b) })
}
