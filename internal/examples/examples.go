// Package examples names the example configurations of examples/configs (embedded by the
// examples package there), so that the demo, the generators and the end-to-end tests can
// load the example profiles without a checkout:
//
//	cfg, err := loaders.Load(loaders.Options{FS: examples.Configs, Files: examples.Files})
//
// Relative material paths in the profiles are then read from Configs too.
// The certificates and keys are throwaway test material (configs/certs/README.md).
package examples

import (
	"io/fs"

	"github.com/connfactory/connfactory/examples"
)

// Configs is the examples/configs directory: the profile files at its root, certs/ and
// secrets/ below it. Files read from it report mode 0444, so the factory's key permission
// warning fires for its keys; that is expected for embedded examples.
var Configs fs.FS = mustSub(examples.FS, "configs")

// Files are the profile files in Configs, in load order. Their profile names are distinct,
// so they load together.
var Files = []string{"cassandra.toml", "cassandra.yaml", "riak.toml", "riak.yaml"}

// EnvExample is the name in Configs of the file showing a whole profile given only by
// environment variables (KEY=value lines, # comments).
const EnvExample = "env.example"

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic("examples: " + err.Error()) // only if the embed directive and dir disagree
	}
	return s
}
