// Package examples embeds examples/configs, so that the demo, the end-to-end tests and
// programs built elsewhere can load the example profiles without a checkout:
//
//	cfg, err := loaders.Load(loaders.Options{FS: examples.Configs, Files: examples.Files})
//
// Relative material paths in the profiles are then read from Configs too.
// The certificates and keys are throwaway test material (configs/certs/README.md).
package examples

import (
	"embed"
	"io/fs"
)

//go:embed configs
var embedded embed.FS

// Configs is the examples/configs directory: the profile files at its root, certs/ and
// secrets/ below it. Files read from it report mode 0444, so the factory's key permission
// warning fires for its keys; that is expected for embedded examples.
var Configs fs.FS = mustSub(embedded, "configs")

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
