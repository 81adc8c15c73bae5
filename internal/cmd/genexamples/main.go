// Command genexamples writes the throwaway PKI that the example profiles in
// examples/configs use (see examples.WritePKI). Everything is valid for 30 years so that
// the checked-in files keep working.
//
// Run it from the module root:
//
//	go run ./internal/cmd/genexamples            # writes examples/configs/certs
//	go run ./internal/cmd/genexamples -dir DIR
//
// The keys are public the moment they are committed: never use them for anything real.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/connfactory/connfactory/internal/examples"
)

// validity is long on purpose: the generated files are checked in and must not expire
// under the tests and the demo.
const validity = 30 * 365 * 24 * time.Hour

func main() {
	dir := flag.String("dir", filepath.Join("examples", "configs", "certs"), "directory to write the PKI into")
	flag.Parse()
	if _, err := examples.WritePKI(*dir, validity); err != nil {
		fmt.Fprintln(os.Stderr, "genexamples:", err)
		os.Exit(1)
	}
	fmt.Printf("genexamples: wrote %s (valid for 30 years)\n", *dir)
	fmt.Println("genexamples: key files are mode 0600 here, but git does not keep that: after a checkout")
	fmt.Println("genexamples: run `chmod 600 " + filepath.Join(*dir, "*.key") + " " + filepath.Join(*dir, "*.p12") + "` or the factory warns.")
}
