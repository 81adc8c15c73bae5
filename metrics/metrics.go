// Package metrics exposes connfactory to Prometheus: a Collector for a running service
// (dials, checks, reloads, and the expiry of the certificates and CRLs each compiled
// profile holds) and the text exposition of `connfactory check --format prometheus`.
//
// It is the only package of the module that imports a metrics library: a program that
// does not import it does not link prometheus/client_golang. The factory reports to it
// through factory.Observer.
package metrics

import (
	"cmp"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/connfactory/connfactory"
	"github.com/connfactory/connfactory/factory"
)

// Metric names.
const (
	NameDialsTotal       = "connfactory_dials_total"
	NameDialDuration     = "connfactory_dial_duration_seconds"
	NameReloadsTotal     = "connfactory_reloads_total"
	NameGeneration       = "connfactory_material_generation"
	NameCertExpiry       = "connfactory_certificate_expiry_timestamp_seconds"
	NameCRLNextUpdate    = "connfactory_crl_next_update_timestamp_seconds"
	NameCheckSuccess     = "connfactory_check_success"
	NameCheckDuration    = "connfactory_check_duration_seconds"
	NameCheckFailureKind = "connfactory_check_failure_kind"
)

// The values of the source label of NameCertExpiry.
const (
	SourceServer = "server" // a certificate of the chain the server presented
	SourceClient = "client" // the client certificate
	SourceCA     = "ca"     // a configured CA certificate
)

// ResultOK is the result label of a dial that succeeded; a failed one's is its error
// kind (factory.Kind).
const ResultOK = "ok"

// DialBuckets are the buckets of NameDialDuration, in seconds: loopback dials take a
// few milliseconds, connect_timeout defaults to 5 s and check's --timeout to 30 s.
var DialBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

var (
	certExpiryDesc = prometheus.NewDesc(NameCertExpiry,
		"When a certificate expires (its NotAfter), as a Unix timestamp: the server's presented chain (source=\"server\"), the client certificate (\"client\") and the configured CAs (\"ca\").",
		[]string{"profile", "source", "subject"}, nil)
	crlNextUpdateDesc = prometheus.NewDesc(NameCRLNextUpdate,
		"When a configured CRL is due for renewal (its NextUpdate), as a Unix timestamp.",
		[]string{"profile", "issuer"}, nil)
	generationDesc = prometheus.NewDesc(NameGeneration,
		"How many times the profile's TLS material was reloaded with new material since it was compiled.",
		[]string{"profile"}, nil)
)

// collector is the Collector NewCollector returns.
type collector struct {
	reg      *connfactory.Registry
	dials    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	reloads  *prometheus.CounterVec
}

// NewCollector returns a Collector of reg's connectors:
//
//   - connfactory_dials_total{profile,backend,result}: every Dial, DialConn and Check;
//     result is "ok" or the error kind;
//   - connfactory_dial_duration_seconds{profile,backend}: their durations (a histogram);
//   - connfactory_reloads_total{profile,result}: TLS material reloads, result "ok",
//     "unchanged" or "error";
//   - connfactory_material_generation{profile}: successful reloads since compile;
//   - connfactory_certificate_expiry_timestamp_seconds{profile,source,subject} (source
//     "client" and "ca") and connfactory_crl_next_update_timestamp_seconds{profile,issuer}
//     for the material each compiled profile holds now, after reloads.
//
// Every series of a compiled profile exists from the moment it is compiled (counters at 0
// for result="ok" and each reload result), so a dashboard never sees a missing series.
// Register it once per Registry: prometheus.MustRegister(metrics.NewCollector(reg)).
func NewCollector(reg *connfactory.Registry) prometheus.Collector {
	c := &collector{
		reg: reg,
		dials: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameDialsTotal,
			Help: "Dials and checks of a profile, by result: \"ok\" or the error kind."},
			[]string{"profile", "backend", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: NameDialDuration,
			Help: "How long a profile's dials and checks took, in seconds.", Buckets: DialBuckets},
			[]string{"profile", "backend"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameReloadsTotal,
			Help: "TLS material reloads of a profile, by result: ok (new material in use), unchanged, error (the last good material stays)."},
			[]string{"profile", "result"}),
	}
	reg.AddObserver(observer{c})
	return c
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	c.dials.Describe(ch)
	c.duration.Describe(ch)
	c.reloads.Describe(ch)
	ch <- generationDesc
	ch <- certExpiryDesc
	ch <- crlNextUpdateDesc
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, conn := range c.reg.Compiled() {
		name, backend := conn.Name(), string(conn.Backend())
		// Touching a series creates it at 0: every compiled profile has all of them.
		c.dials.WithLabelValues(name, backend, ResultOK)
		c.duration.WithLabelValues(name, backend)
		for _, res := range factory.ReloadResults {
			c.reloads.WithLabelValues(name, string(res))
		}
		info := conn.TLS().Material()
		ch <- prometheus.MustNewConstMetric(generationDesc, prometheus.GaugeValue, float64(info.Generation), name)
		for _, s := range certSeries(info, nil) {
			ch <- prometheus.MustNewConstMetric(certExpiryDesc, prometheus.GaugeValue, unix(s.at), name, s.source, s.subject)
		}
		for _, s := range crlSeries(info) {
			ch <- prometheus.MustNewConstMetric(crlNextUpdateDesc, prometheus.GaugeValue, unix(s.at), name, s.subject)
		}
	}
	c.dials.Collect(ch)
	c.duration.Collect(ch)
	c.reloads.Collect(ch)
}

// observer feeds the collector's counters from the factory's events.
type observer struct{ c *collector }

func (o observer) DialDone(e factory.DialEvent) {
	result := ResultOK
	if e.Err != nil {
		result = string(factory.KindOf(e.Err))
	}
	backend := string(e.Backend)
	o.c.dials.WithLabelValues(e.Profile, backend, result).Inc()
	o.c.duration.WithLabelValues(e.Profile, backend).Observe(e.Duration.Seconds())
}

func (o observer) ReloadDone(e factory.ReloadEvent) {
	o.c.reloads.WithLabelValues(e.Profile, string(e.Result)).Inc()
}

// series is one timestamp gauge's labels (besides profile) and value.
type series struct {
	source, subject string
	at              time.Time
}

// certSeries are the certificate expiry series of a profile: its configured CAs, its
// client certificate and the chain the server presented (nil: none). Two certificates of
// one source with the same subject (a CA rotated under its old name) make one series, the
// earlier expiry: a scrape must not hold duplicate series, and the earlier one is what an
// alert needs.
func certSeries(info factory.MaterialInfo, presented []factory.CertInfo) []series {
	var out []series
	for _, ca := range info.CAs {
		out = append(out, series{SourceCA, ca.Subject.String(), ca.NotAfter})
	}
	if info.ClientCert != nil {
		out = append(out, series{SourceClient, info.ClientCert.Subject.String(), info.ClientCert.NotAfter})
	}
	for _, c := range presented {
		out = append(out, series{SourceServer, c.Subject, c.NotAfter})
	}
	return earliest(out)
}

// crlSeries are the CRL next-update series of a profile (subject holds the issuer); CRLs
// without a NextUpdate have none.
func crlSeries(info factory.MaterialInfo) []series {
	var out []series
	for _, crl := range info.CRLs {
		if !crl.NextUpdate.IsZero() {
			out = append(out, series{subject: crl.Issuer, at: crl.NextUpdate})
		}
	}
	return earliest(out)
}

// earliest keeps one series per (source, subject), the earliest, sorted.
func earliest(in []series) []series {
	slices.SortStableFunc(in, func(a, b series) int {
		return cmp.Or(cmp.Compare(a.source, b.source), cmp.Compare(a.subject, b.subject), a.at.Compare(b.at))
	})
	return slices.CompactFunc(in, func(a, b series) bool { return a.source == b.source && a.subject == b.subject })
}

// unix is t as a Unix timestamp in whole seconds (certificates and CRLs keep no more).
func unix(t time.Time) float64 { return float64(t.Unix()) }
