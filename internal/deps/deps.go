// Package deps pins the module's dependencies while the tree is being built.
package deps

import (
	_ "github.com/apache/cassandra-gocql-driver/v2"
	_ "github.com/basho/riak-go-client"
	_ "github.com/datastax/go-cassandra-native-protocol/client"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/go-playground/validator/v10"
	_ "github.com/invopop/jsonschema"
	_ "github.com/knadh/koanf/parsers/json"
	_ "github.com/knadh/koanf/parsers/toml/v2"
	_ "github.com/knadh/koanf/parsers/yaml"
	_ "github.com/knadh/koanf/providers/confmap"
	_ "github.com/knadh/koanf/providers/env/v2"
	_ "github.com/knadh/koanf/providers/file"
	_ "github.com/knadh/koanf/providers/rawbytes"
	_ "github.com/knadh/koanf/providers/structs"
	_ "github.com/knadh/koanf/v2"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "github.com/spf13/cobra"
	_ "github.com/stretchr/testify/require"
	_ "github.com/youmark/pkcs8"
	_ "go.uber.org/goleak"
	_ "software.sslmate.com/src/go-pkcs12"
)
