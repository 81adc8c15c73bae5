// Command genschema writes connfactory's JSON Schema (draft 2020-12) from package schema's
// types: the keys are their `koanf` tags, the descriptions their doc comments, the enums
// schema's lists of accepted values (schema.Backends, schema.Mechanisms, ...), so each is
// written once. It lives here, not in schema, so that schema links only the standard
// library: the reflection (invopop/jsonschema) and the Go parser it needs for the doc
// comments are linked by this command alone.
//
// schema runs it through `go generate ./schema`, which writes schema/connfactory.schema.json;
// that file is checked in and embedded by schema.JSONSchema. TestSchemaUpToDate (here)
// fails when it is stale; `go test ./internal/cmd/genschema -run TestSchemaUpToDate
// -update` rewrites it too.
//
//	go run ./internal/cmd/genschema -src schema -o schema/connfactory.schema.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/connfactory/connfactory/schema"
)

func main() {
	src := flag.String("src", ".", "directory of package schema's Go source (its doc comments become descriptions)")
	out := flag.String("o", "connfactory.schema.json", "file to write")
	flag.Parse()
	b, err := generate(*src)
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genschema:", err)
		os.Exit(1)
	}
}

// generate reflects the JSON Schema from the types. sourceDir is the directory of package
// schema's Go source, whose doc comments become descriptions; with "" the schema has none.
func generate(sourceDir string) ([]byte, error) {
	r := &jsonschema.Reflector{
		FieldNameTag: "koanf",
		// Nothing is required by the schema itself: backend and hosts may come from
		// [defaults] or an extended profile, which only the loaders can see.
		RequiredFromJSONSchemaTags: true,
		ExpandedStruct:             true,
		Mapper:                     mapType,
	}
	if sourceDir != "" {
		comments, err := docComments(sourceDir)
		if err != nil {
			return nil, err
		}
		r.CommentMap = comments
	}
	s := r.Reflect(&schema.Config{})
	s.ID = schema.JSONSchemaID
	s.Title = "connfactory configuration"
	s.Definitions["Duration"] = durationSchema()
	if err := extend(s); err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("genschema: %w", err)
	}
	return append(out, '\n'), nil
}

// docComments reads the doc comments of the Go files in dir, keyed as the reflector looks
// them up (import path.Type.Field), with their lines unwrapped.
func docComments(dir string) (map[string]string, error) {
	pkg := reflect.TypeFor[schema.Config]().PkgPath()
	rr := &jsonschema.Reflector{}
	// The reflector keys comments by path.Join(base, directory); with base "" the key
	// starts with dir itself, replaced by the import path below.
	if err := rr.AddGoComments("", dir, jsonschema.WithFullComment()); err != nil {
		return nil, fmt.Errorf("genschema: reading doc comments from %s: %w", dir, err)
	}
	prefix := path.Join("", filepath.ToSlash(filepath.Clean(dir)))
	out := make(map[string]string, len(rr.CommentMap))
	for k, v := range rr.CommentMap {
		if rest, ok := strings.CutPrefix(k, prefix+"."); ok {
			out[pkg+"."+rest] = unwrap(v)
		}
	}
	return out, nil
}

// unwrap joins the lines of a doc comment's paragraphs, which were wrapped for source
// code, not for an editor's hover; paragraph breaks and indented examples stay.
func unwrap(doc string) string {
	var b strings.Builder
	prev := ""
	for i, line := range strings.Split(strings.TrimSpace(doc), "\n") {
		switch {
		case i == 0:
		case line == "" || prev == "" || strings.HasPrefix(line, "\t") || strings.HasPrefix(prev, "\t"):
			b.WriteByte('\n')
		default:
			b.WriteByte(' ')
		}
		b.WriteString(line)
		prev = line
	}
	return b.String()
}

// mapType refers every schema.Duration to the Duration definition (durationSchema).
func mapType(t reflect.Type) *jsonschema.Schema {
	if t == reflect.TypeFor[schema.Duration]() {
		return &jsonschema.Schema{Ref: "#/$defs/Duration"}
	}
	return nil
}

// durationPattern is a Go duration ("1m30s", "250ms") or a bare number of seconds.
const durationPattern = `^([0-9]+|([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+)$`

// durationSchema describes a Duration as written: a Go duration string, or a number of
// seconds.
func durationSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Description: `A Go duration such as "5s", "250ms" or "1m30s"; a bare number is seconds.`,
		OneOf: []*jsonschema.Schema{
			{Type: "string", Pattern: durationPattern},
			{Type: "number", Minimum: json.Number("0")},
		},
	}
}
