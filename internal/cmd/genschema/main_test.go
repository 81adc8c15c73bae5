package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/schema"
)

var update = flag.Bool("update", false, "rewrite schema/connfactory.schema.json from the types")

const (
	schemaDir  = "../../../schema"
	schemaFile = schemaDir + "/connfactory.schema.json"
)

func TestSchemaUpToDate(t *testing.T) {
	generated, err := generate(schemaDir)
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile(schemaFile, generated, 0o644))
		t.Logf("wrote %s", schemaFile)
		return
	}
	onDisk, err := os.ReadFile(schemaFile)
	require.NoError(t, err)
	if !bytes.Equal(generated, onDisk) {
		t.Fatalf("schema/connfactory.schema.json is stale (the types or their doc comments changed): " +
			"rewrite it with `go generate ./schema` or `go test ./internal/cmd/genschema -run TestSchemaUpToDate -update`")
	}
	embedded, err := schema.JSONSchema()
	require.NoError(t, err)
	require.Equal(t, string(onDisk), string(embedded), "the binary embeds an older schema: rebuild")
}

func TestGenerateSourceDir(t *testing.T) {
	_, err := generate(filepath.Join(t.TempDir(), "missing"))
	require.ErrorContains(t, err, "genschema: reading doc comments")
	bare, err := generate("")
	require.NoError(t, err)
	require.True(t, json.Valid(bare))
	require.NotContains(t, string(bare), "Profiles are the named connections")
	described, err := generate(schemaDir)
	require.NoError(t, err)
	require.Contains(t, string(described), "Profiles are the named connections")
}

// TestEnumsFromSchemaLists: each enum of the JSON Schema is schema's list of accepted
// values, so a value added to a list reaches the schema at the next go generate.
func TestEnumsFromSchemaLists(t *testing.T) {
	raw, err := generate("")
	require.NoError(t, err)
	var doc struct {
		Properties map[string]struct {
			PropertyNames struct {
				Pattern string `json:"pattern"`
			} `json:"propertyNames"`
		} `json:"properties"`
		Defs map[string]struct {
			Properties map[string]struct {
				Enum    []any `json:"enum"`
				Minimum *int  `json:"minimum"`
				Maximum *int  `json:"maximum"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	strs := func(vs []any) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = v.(string)
		}
		return out
	}
	enum := func(def, key string) []any { return doc.Defs[def].Properties[key].Enum }
	require.Equal(t, schema.Accepted(schema.Backends), schema.Accepted(strs(enum("Profile", "backend"))))
	require.Equal(t, schema.Consistencies, strs(enum("Profile", "consistency")))
	require.Equal(t, schema.Accepted(schema.Mechanisms), schema.Accepted(strs(enum("Auth", "mechanism"))))
	require.Equal(t, schema.Accepted(schema.TLSModes), schema.Accepted(strs(enum("TLS", "mode"))))
	require.Equal(t, schema.Accepted(schema.CRLStales), schema.Accepted(strs(enum("TLS", "crl_stale"))))
	require.Equal(t, schema.Accepted(schema.KeyStoreTypes), schema.Accepted(strs(enum("TrustStore", "type"))))
	require.Equal(t, schema.Accepted(schema.KeyStoreTypes), schema.Accepted(strs(enum("KeyStore", "type"))))
	require.Equal(t, []any{0.0, 3.0, 4.0, 5.0}, enum("Profile", "protocol_version"))
	require.Equal(t, []any{"1.0", "1.1", "1.2", "1.3", 1.0, 1.1, 1.2, 1.3}, enum("TLS", "min_version"))
	pool := doc.Defs["Pool"].Properties["connections_per_host"]
	require.Equal(t, 1, *pool.Minimum)
	require.Equal(t, schema.MaxPoolConnections, *pool.Maximum)
	require.Equal(t, schema.ProfileNamePattern, doc.Properties["profiles"].PropertyNames.Pattern)
}
