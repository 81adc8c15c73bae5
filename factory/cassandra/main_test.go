package cassandra_test

import (
	"testing"

	"github.com/connfactory/connfactory/internal/leakcheck"
)

// TestMain checks that the package's tests leave no goroutine behind (gocql's and
// riak-go-client's included), on top of the tests' own leak checks.
func TestMain(m *testing.M) { leakcheck.Main(m) }
