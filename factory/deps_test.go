package factory_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	gocqlPath    = "github.com/apache/cassandra-gocql-driver/v2"
	riakPath     = "github.com/basho/riak-go-client"
	protobufPath = "github.com/golang/protobuf/proto"
	module       = "github.com/connfactory/connfactory/"
)

// deps lists what pkg links outside the standard library.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	require.NoError(t, err)
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
		module+pkg).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return strings.Fields(string(out))
}

// TestDriverDependencies holds the package split of issue 15: factory links neither
// driver, factory/cassandra no Riak, factory/riak no gocql.
func TestDriverDependencies(t *testing.T) {
	f := deps(t, "factory")
	require.NotContains(t, f, gocqlPath)
	require.NotContains(t, f, riakPath)
	require.NotContains(t, f, protobufPath)

	c := deps(t, "factory/cassandra")
	require.Contains(t, c, gocqlPath) // not vacuous: the backend links its driver
	require.NotContains(t, c, riakPath)
	require.NotContains(t, c, protobufPath)

	r := deps(t, "factory/riak")
	require.Contains(t, r, riakPath)
	require.NotContains(t, r, gocqlPath)
}

// TestTestHelpersStayInTests: no package of the module imports internal/factorytest (it
// links testify and the test servers) outside its own tree; tests may.
func TestTestHelpersStayInTests(t *testing.T) {
	goTool, err := exec.LookPath("go")
	require.NoError(t, err)
	out, err := exec.Command(goTool, "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"...").CombinedOutput()
	require.NoError(t, err, "%s", out)
	helpers := module + "internal/factorytest"
	importers := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		if strings.HasPrefix(pkg, helpers) {
			importers += strings.Count(" "+imports+" ", " "+helpers+" ") // cassenv, riakenv
			continue
		}
		for _, imp := range strings.Fields(imports) {
			require.False(t, strings.HasPrefix(imp, helpers), "%s imports %s", pkg, imp)
		}
	}
	require.Equal(t, 2, importers, "not vacuous: cassenv and riakenv import factorytest")
}
