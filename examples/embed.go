// Package examples holds the example configurations (examples/configs): the profile files,
// their throwaway PKI and secrets. It is data, not an API: go:embed can only reach files
// below the embedding package's directory, and the design card keeps the files at
// examples/configs, so the embedding has to live here. connfactory's CLI, generators and
// tests read the files through internal/examples, which names them.
package examples

import "embed"

// FS is the examples/configs directory tree, rooted above "configs".
//
//go:embed configs
var FS embed.FS
