package sealed_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/internal/sealed"
)

type secretHolder struct {
	name string
	box  sealed.Box[string]
	ptr  *sealed.Box[[]string]
}

func TestBoxHidesItsValue(t *testing.T) {
	pw, env := "CANARY-pw", []string{"DB_PASSWORD=CANARY-env"}
	h := &secretHolder{name: "visible", ptr: sealed.Of(&env)}
	h.box.Set(&pw)
	require.Equal(t, pw, *h.box.Get())
	require.Equal(t, env, *h.ptr.Get())
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%t", "%p"} {
		value := reflect.ValueOf(h).Elem().Interface() // a copy, as printing *h makes
		for _, v := range []any{h, value, []*secretHolder{h}, map[string]any{"k": value}} {
			out := fmt.Sprintf(verb, v)
			require.NotContains(t, out, "CANARY", "%s of %T: %s", verb, v, out)
		}
	}
	b, err := json.Marshal(h)
	require.NoError(t, err)
	require.NotContains(t, string(b), "CANARY")
	require.Nil(t, new(sealed.Box[int]).Get())
}
