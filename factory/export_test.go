package factory

import "time"

// WithRiakAuthWait shortens the Riak preflight's wait for a verdict on credentials, so
// that tests of a server that never answers do not wait RiakAuthVerdictWait.
func WithRiakAuthWait(d time.Duration) Option { return func(o *options) { o.riakAuthWait = d } }
