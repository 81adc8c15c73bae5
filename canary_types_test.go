package connfactory_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/factory"
	"github.com/connfactory/connfactory/factory/cassandra"
	"github.com/connfactory/connfactory/factory/riak"
	"github.com/connfactory/connfactory/loaders"
	"github.com/connfactory/connfactory/schema"
)

// canaryVerbs are every verb a program might print a value with.
var canaryVerbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x"}

// requireNoCanaryAnywhere prints v with every verb, logs it through slog at debug level
// (text and JSON handlers, as an attribute and as a group member), and marshals it as
// JSON, and checks that no secret shows in any of it.
func (fx *canaryFixture) requireNoCanaryAnywhere(t *testing.T, what string, v any) {
	t.Helper()
	for _, verb := range canaryVerbs {
		fx.requireNoCanary(t, what+" "+verb, fmt.Sprintf(verb, v))
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{
		slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}),
		slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}),
	} {
		l := slog.New(h)
		l.Debug("value", "v", v)
		l.Debug("group", slog.Group("g", "v", v))
		l.Debug(fmt.Sprint(v))
	}
	fx.requireNoCanary(t, what+" slog", buf.String())
	if b, err := json.Marshal(v); err == nil {
		fx.requireNoCanary(t, what+" JSON", string(b))
	}
}

// derefCopy returns a copy of the value p points to, as a program that dereferences a
// pointer and prints the value gets it (reflect keeps vet quiet about the copied lock).
func derefCopy(p any) any { return reflect.ValueOf(p).Elem().Interface() }

// TestCanaryEveryPublicType: every public type that can hold a secret, as a pointer and
// as a value, with every verb, through slog and as JSON: the Registry (which keeps
// WithEnviron and WithValues), loaders.Options, loaders.Material and ProfileMaterial (the
// resolved material and secrets, a factory.MaterialSource), both connectors, ClientTLS,
// and the schema types holding secrets and material.
func TestCanaryEveryPublicType(t *testing.T) {
	fx := newCanaryFixture(t)
	values := map[string]any{"profiles": map[string]any{"cass_pw": map[string]any{"auth": map[string]any{"password": canaryPassword}}}}
	opts := fx.options(connfactory.WithValues(values))
	reg, err := connfactory.Load(opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, reg.Close()) })
	require.Contains(t, fmt.Sprint(fx.environ), canaryWord, "the environment must hold canaries, or this test proves nothing")

	fx.requireNoCanaryAnywhere(t, "*connfactory.Registry", reg)
	fx.requireNoCanaryAnywhere(t, "connfactory.Registry", derefCopy(reg))

	lo := loaders.Options{Files: []string{fx.file}, Environ: fx.environ, Values: values}
	fx.requireNoCanaryAnywhere(t, "loaders.Options", lo)
	fx.requireNoCanaryAnywhere(t, "*loaders.Options", &lo)
	require.Contains(t, fmt.Sprint(lo), fx.file, "the options still say what they are")

	// What the loaders resolved: every profile's material and secrets, by config path.
	_, mat := fx.load(t)
	fx.requireNoCanaryAnywhere(t, "*loaders.Material", mat)
	fx.requireNoCanaryAnywhere(t, "loaders.Material", derefCopy(mat))
	for _, name := range goodProfiles {
		pm := mat.Profile(name)
		require.NotNil(t, pm, name)
		fx.requireNoCanaryAnywhere(t, name+" *loaders.ProfileMaterial", pm)
		fx.requireNoCanaryAnywhere(t, name+" loaders.ProfileMaterial", derefCopy(pm))
		var ms factory.MaterialSource = pm
		fx.requireNoCanaryAnywhere(t, name+" factory.MaterialSource", ms)
	}
	require.Contains(t, fmt.Sprint(mat), "profiles", "the material still says what it is")

	for _, name := range goodProfiles {
		c, err := reg.Connector(name)
		require.NoError(t, err)
		fx.requireNoCanaryAnywhere(t, name+" connector", c)
		fx.requireNoCanaryAnywhere(t, name+" connector value", derefCopy(c))
		switch cc := c.(type) {
		case *cassandra.Connector:
			fx.requireNoCanaryAnywhere(t, name+" *ClientTLS", cc.TLS())
			fx.requireNoCanaryAnywhere(t, name+" ClientTLS", derefCopy(cc.TLS()))
		case *riak.Connector:
			fx.requireNoCanaryAnywhere(t, name+" *ClientTLS", cc.TLS())
			fx.requireNoCanaryAnywhere(t, name+" ClientTLS", derefCopy(cc.TLS()))
		}
		p, _ := reg.Profile(name)
		fx.requireNoCanaryAnywhere(t, name+" *schema.Profile", p)
		fx.requireNoCanaryAnywhere(t, name+" schema.Profile", *p)
		fx.requireNoCanaryAnywhere(t, name+" *schema.Auth", p.Auth)
		fx.requireNoCanaryAnywhere(t, name+" *schema.TLS", p.TLS)
		for _, m := range []*schema.MaterialSource{p.TLS.Key, p.TLS.PKCS12} {
			if m != nil {
				fx.requireNoCanaryAnywhere(t, name+" *schema.MaterialSource", m)
				fx.requireNoCanaryAnywhere(t, name+" schema.MaterialSource", *m)
			}
		}
		if p.Auth.Password != nil {
			fx.requireNoCanaryAnywhere(t, name+" *schema.SecretSource", p.Auth.Password)
			fx.requireNoCanaryAnywhere(t, name+" schema.SecretSource", *p.Auth.Password)
			fx.requireNoCanaryAnywhere(t, name+" schema.Secret", resolvedSecret(mat, name, "auth.password", p.Auth.Password))
		}
	}
	fx.requireNoCanaryAnywhere(t, "*schema.Config", reg.Config())
}
