package factory_test

import (
	"testing"

	"github.com/connfactory/connfactory/internal/leakcheck"
	"github.com/connfactory/connfactory/internal/opensslbin"
)

// TestMain prints one visible line when tests skipped for lack of openssl, and checks that
// the package's tests leave no goroutine behind.
func TestMain(m *testing.M) { leakcheck.Main(opensslbin.Wrap("factory", m)) }
