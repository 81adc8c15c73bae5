package metrics

import (
	"errors"
	"fmt"
	"io"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/connfactory/connfactory/factory"
)

// Check is one profile's outcome for WriteCheck.
type Check struct {
	// Report is the check's report; for a profile that did not compile, a report with
	// Profile, Backend and an Error of kind config.
	Report *factory.Report
	// Material is what the compiled profile holds (c.TLS().Material()); zero
	// for a plaintext profile or one that did not compile.
	Material factory.MaterialInfo
}

// WriteCheck writes the text exposition format (HELP and TYPE lines, label values
// escaped), as node_exporter's textfile collector reads it, for the checks:
//
//   - connfactory_check_success{profile,backend}: 1 or 0;
//   - connfactory_check_duration_seconds{profile,backend};
//   - connfactory_check_failure_kind{profile,backend,kind}: 1, one per failed profile;
//   - connfactory_certificate_expiry_timestamp_seconds{profile,source,subject}: every
//     certificate the server presented ("server"), the client certificate ("client")
//     and the configured CAs ("ca");
//   - connfactory_crl_next_update_timestamp_seconds{profile,issuer}: every configured CRL.
//
// Families come sorted by name, series by labels.
func WriteCheck(w io.Writer, checks []Check) error {
	reg := prometheus.NewPedanticRegistry()
	success := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NameCheckSuccess,
		Help: "Whether the profile's check (TCP, TLS, authentication, one request) succeeded: 1 or 0."},
		[]string{"profile", "backend"})
	duration := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NameCheckDuration,
		Help: "How long the profile's check took, in seconds."},
		[]string{"profile", "backend"})
	failure := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NameCheckFailureKind,
		Help: "Why the profile's check failed: 1 for its error kind (config, unreachable, timeout, tls_untrusted, ...)."},
		[]string{"profile", "backend", "kind"})
	certs := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NameCertExpiry,
		Help: "When a certificate expires (its NotAfter), as a Unix timestamp: the server's presented chain (source=\"server\"), the client certificate (\"client\") and the configured CAs (\"ca\")."},
		[]string{"profile", "source", "subject"})
	crls := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NameCRLNextUpdate,
		Help: "When a configured CRL is due for renewal (its NextUpdate), as a Unix timestamp."},
		[]string{"profile", "issuer"})
	reg.MustRegister(success, duration, failure, certs, crls)

	for _, c := range checks {
		r := c.Report
		if r == nil {
			return errors.New("metrics: a Check without a Report")
		}
		ok := r.OK && r.Error == nil
		success.WithLabelValues(r.Profile, r.Backend).Set(b2f(ok))
		duration.WithLabelValues(r.Profile, r.Backend).Set(r.Latency.Seconds())
		if !ok {
			kind := string(factory.KindConfig)
			if r.Error != nil && r.Error.Kind != "" {
				kind = r.Error.Kind
			}
			failure.WithLabelValues(r.Profile, r.Backend, kind).Set(1)
		}
		for _, s := range certSeries(c.Material, r.TLS.PeerChain) {
			certs.WithLabelValues(r.Profile, s.source, s.subject).Set(unix(s.at))
		}
		for _, s := range crlSeries(c.Material) {
			crls.WithLabelValues(r.Profile, s.subject).Set(unix(s.at))
		}
	}
	families, err := reg.Gather()
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
