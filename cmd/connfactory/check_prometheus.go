package main

import (
	"io"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/metrics"
)

// writePrometheus prints check's results in the Prometheus text exposition format, with
// the expiry of the material each compiled profile holds.
func writePrometheus(w io.Writer, reg *connfactory.Registry, results []checkResult) error {
	checks := make([]metrics.Check, 0, len(results))
	for _, res := range results {
		mc := metrics.Check{Report: res.report}
		if res.invalid {
			checks = append(checks, mc)
			continue
		}
		if c, err := reg.Connector(res.report.Profile); err == nil {
			mc.Material = c.TLS().Material()
		}
		checks = append(checks, mc)
	}
	return metrics.WriteCheck(w, checks)
}
