package schema

import (
	"bytes"
	_ "embed" // the generated schema ships inside the binary
	"encoding/json"
	"errors"
)

// JSONSchemaID is the $id of connfactory's JSON Schema.
const JSONSchemaID = "https://github.com/connfactory/connfactory/schema/connfactory.schema.json"

// The schema is generated from these types by internal/cmd/genschema and checked in,
// because its descriptions come from the doc comments, which only exist where the source
// does: an installed CLI run from any directory must still print the documented schema.
// The generator's TestSchemaUpToDate fails when the checked-in file is stale.
//
//go:generate go run ../internal/cmd/genschema -src . -o connfactory.schema.json
//go:embed connfactory.schema.json
var embeddedSchema []byte

// JSONSchema returns the JSON Schema (draft 2020-12) of a configuration file: the keys
// of Config, Profile and their parts, with the doc comments as descriptions and the
// accepted values of each enumerated key.
func JSONSchema() ([]byte, error) {
	if !json.Valid(embeddedSchema) {
		return nil, errors.New("schema: the embedded connfactory.schema.json is not JSON: regenerate it")
	}
	return bytes.Clone(embeddedSchema), nil
}
