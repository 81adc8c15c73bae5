package connfactorytest

import (
	"fmt"

	"github.com/connfactory/connfactory"
)

// NewRegistry starts a Sandbox (see Start) and loads its profiles file into a Registry: the
// ready-made fixture for a test of code that takes a *connfactory.Registry. Every profile
// of Sandbox.ProfileNames dials the sandbox's servers over TLS with the generated PKI.
//
// The environment layer is off (connfactory.WithEnvPrefix("-")), so that the test does not
// depend on the CONNFACTORY_ variables of the machine it runs on; opts are applied after
// the profiles file, so a test can add layers (connfactory.WithValues) or options
// (connfactory.WithLogger) of its own.
//
// Close the returned Sandbox when done: it closes the Registry, then stops the servers.
func NewRegistry(opts Options, load ...connfactory.Option) (*connfactory.Registry, *Sandbox, error) {
	sb, err := Start(opts)
	if err != nil {
		return nil, nil, err
	}
	all := append([]connfactory.Option{connfactory.WithFiles(sb.ProfilesFile), connfactory.WithEnvPrefix("-")}, load...)
	reg, err := connfactory.Load(all...)
	if err != nil {
		_ = sb.Close()
		return nil, nil, fmt.Errorf("sandbox: loading %s: %w", sb.ProfilesFile, err)
	}
	sb.registry = reg
	return reg, sb, nil
}
