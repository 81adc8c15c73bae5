package cassandra

import (
	"fmt"

	"github.com/connfactory/connfactory/internal/factorykit"
	"github.com/connfactory/connfactory/schema"
)

// The connector prints itself, with every verb, as a short description that holds no
// secret (internal/factorykit.Common); so does the authenticator it hands gocql.

// Format prints the authenticator's host and username.
func (a *cqlAuthenticator) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "&cassandra.cqlAuthenticator{host: %q, user: %q}", a.host, a.user)
}

func init() { factorykit.Register(schema.Cassandra, New) }
