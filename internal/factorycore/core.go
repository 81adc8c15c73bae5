// Package factorycore is the backend registry of package factory: factory imports
// neither backend (factory/cassandra, factory/riak), so each registers its constructor
// here (through internal/factorykit.Register) and factory.Compile looks it up. Standard
// library and schema only; it imports no factory package, which is why the constructors
// are stored untyped: factory.Compile asserts them to their one type.
package factorycore

import (
	"sync"

	"github.com/connfactory/connfactory/schema"
)

// Sources of a factory.HostReport: written once here, where factory and its backends
// both reach them.
const (
	// HostConfigured is a host listed in the profile.
	HostConfigured = "configured"
	// HostDiscovered is a node found through system.peers.
	HostDiscovered = "discovered"
)

var backends sync.Map // schema.Backend -> func(string, *schema.Profile, ...factory.Option) (factory.Connector, error)

// Register records the constructor of backend b; factory.Compile calls it.
func Register(b schema.Backend, newConnector any) { backends.Store(b, newConnector) }

// Lookup returns the constructor registered for b.
func Lookup(b schema.Backend) (any, bool) { return backends.Load(b) }
