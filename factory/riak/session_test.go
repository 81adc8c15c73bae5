package riak_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/connfactory/connfactory/internal/factorytest"
	"github.com/connfactory/connfactory/internal/factorytest/riakenv"
	"github.com/connfactory/connfactory/schema"
)

// A Riak Dial with a pool of 8 makes one full handshake, its preflight's: riak-go-client's
// eight connections resume the preflight's session through the connector's cache.
func TestRiakPoolOneFullHandshake(t *testing.T) {
	for _, v := range factorytest.TLSVersions {
		t.Run(v.Name, func(t *testing.T) {
			factorytest.LeakCheck(t)
			h := &factorytest.Handshakes{}
			opts := riakenv.Secure()
			base := opts.TLS.Clone()
			base.MaxVersion = v.Max
			opts.TLS = h.ServerConfig(base)
			srv := riakenv.Start(t, opts)
			p := riakenv.Profile([]string{srv.Addr()}, schema.MechanismPassword, "pwuser", riakenv.Password, riakenv.TLS())
			p.Pool = &schema.Pool{ConnectionsPerHost: 8}
			c := riakenv.New(t, p)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cl, err := c.Dial(ctx)
			require.NoError(t, err)
			defer func() { require.NoError(t, cl.Stop()) }()
			require.Equal(t, 9, srv.Accepted(), "the preflight and a pool of 8")
			// riak-go-client's last handshake may still be finishing on the server side.
			require.Eventually(t, func() bool {
				full, resumed := h.Counts()
				return full+resumed == 9
			}, 10*time.Second, 5*time.Millisecond)
			full, resumed := h.Counts()
			require.Equal(t, [2]int{1, 8}, [2]int{full, resumed})
		})
	}
}
