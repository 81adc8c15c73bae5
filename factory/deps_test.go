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
