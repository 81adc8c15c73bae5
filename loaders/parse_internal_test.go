package loaders

import (
	"fmt"
	"strings"
	"testing"
	"time"

	gotoml "github.com/pelletier/go-toml/v2"
	"github.com/stretchr/testify/require"
)

// TOML datetimes stay non-strings, so that the secret rules can refuse them.
func TestTOMLDatetimesStayTimes(t *testing.T) {
	m, nulls, err := parseTOML([]byte("[profiles.p.auth]\npassword = 1979-05-27T07:32:00Z\n[profiles.p]\nkeyspace = 1979-05-27\n"))
	require.NoError(t, err)
	require.Empty(t, nulls)
	p := m["profiles"].(map[string]any)["p"].(map[string]any)
	require.IsType(t, time.Time{}, p["auth"].(map[string]any)["password"])
	require.IsType(t, time.Time{}, p["keyspace"])
}

// Arrays of tables become lists of tables, quoted dotted keys nest (as koanf did).
func TestTOMLShapes(t *testing.T) {
	m, _, err := parseTOML([]byte("[[profiles.p.auth.per_host]]\nhost = \"a\"\n[[profiles.p.auth.per_host]]\nhost = \"b\"\n[profiles.q]\n\"tls.mode\" = \"insecure\"\n"))
	require.NoError(t, err)
	ph := m["profiles"].(map[string]any)["p"].(map[string]any)["auth"].(map[string]any)["per_host"]
	require.Equal(t, []any{map[string]any{"host": "a"}, map[string]any{"host": "b"}}, ph)
	require.Equal(t, "insecure", m["profiles"].(map[string]any)["q"].(map[string]any)["tls"].(map[string]any)["mode"])
}

func profilesTOML(n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "[profiles.p%d]\nbackend = \"cassandra\"\nhosts = [\"h%d:9042\"]\n[profiles.p%d.auth]\nmechanism = \"password\"\nusername = \"u\"\npassword = { env = \"PW\" }\n[profiles.p%d.tls]\nca = { file = \"ca.pem\" }\ncrl = [{ file = \"crl.pem\" }]\n", i, i, i, i)
	}
	return []byte(b.String())
}

// BenchmarkParseTOML: the TOML stage alone, per profile, ours against go-toml v2 (the
// parser koanf's toml/v2 used):
//
//	go test -run '^$' -bench ParseTOML -benchtime 1x ./loaders
func BenchmarkParseTOML(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		doc := profilesTOML(n)
		b.Run(fmt.Sprintf("burntsushi/%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, _, err := parseTOML(doc); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/profile")
		})
		if n > 10_000 {
			continue // go-toml v2: 247 s at 100,000 (FIELD-NOTES)
		}
		b.Run(fmt.Sprintf("gotoml/%d", n), func(b *testing.B) {
			for b.Loop() {
				var m map[string]any
				if err := gotoml.Unmarshal(doc, &m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/profile")
		})
	}
}
