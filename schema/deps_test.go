package schema_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStandardLibraryOnly: schema links nothing but the standard library, so every user
// of the profile types (loaders, validate, the factory, a program building profiles in Go)
// links no JSON Schema reflector, parser or YAML library through them.
func TestStandardLibraryOnly(t *testing.T) {
	goTool, err := exec.LookPath("go")
	require.NoError(t, err)
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
		"github.com/connfactory/connfactory/schema").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, []string{"github.com/connfactory/connfactory/schema"}, strings.Fields(string(out)))

	// The check is not vacuous: the generator links the reflector.
	out, err = exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
		"github.com/connfactory/connfactory/internal/cmd/genschema").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, strings.Fields(string(out)), "github.com/invopop/jsonschema")
}
