package textsafe_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/internal/textsafe"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"":                                 "",
		"CN=db.example.com, O=Acme":        "CN=db.example.com, O=Acme",
		"Zürich – 日本":                      "Zürich – 日本",
		"\x1b[2J\x1b[H":                    `\x1b[2J\x1b[H`,
		"failed\nriak_prod (riak): OK":     `failed\nriak_prod (riak): OK`,
		"a\rb\tc\x00d\x7fe":                `a\rb\tc\x00d\x7fe`,
		"c1 \u0085 \u009b[31m":             `c1 \u0085 \u009b[31m`,
		"bidi \u202egnp.exe \u2066x\u2069": `bidi \u202egnp.exe \u2066x\u2069`,
		"line\u2028sep":                    `line\u2028sep`,
		"bad \xff\xfe utf8":                `bad \xff\xfe utf8`,
		`back\slash`:                       `back\slash`,
	} {
		require.Equal(t, want, textsafe.Escape(in), "%q", in)
	}
	require.Equal(t, "one \\x1b\ntwo", textsafe.Lines("one \x1b\ntwo"))
}

func TestEscapeCleanDoesNotAllocate(t *testing.T) {
	s := "CN=localhost, O=connfactory test, issued by CN=connfactory test intermediate"
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = textsafe.Escape(s) }))
}
