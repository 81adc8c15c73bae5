package factory_test

import (
	"os"
	"testing"

	"github.com/connfactory/connfactory/internal/opensslbin"
)

// TestMain prints one visible line when tests skipped for lack of openssl.
func TestMain(m *testing.M) { os.Exit(opensslbin.Wrap("factory", m).Run()) }
