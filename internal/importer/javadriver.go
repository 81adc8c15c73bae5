package importer

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gurkankaymak/hocon"

	"github.com/connfactory/connfactory/internal/ciphers"
	"github.com/connfactory/connfactory/schema"
)

// javaRoot is the key the Java driver 4 reads its settings under.
const javaRoot = "datastax-java-driver"

// Java driver 4 defaults (core/src/main/resources/reference.conf) that differ from a
// profile's, and the one it uses without contact points.
const (
	javaConsistency  = "local_one"
	javaContactPoint = "127.0.0.1:9042"
)

// Setting paths under datastax-java-driver, as reference.conf names them.
const (
	jContactPoints  = "basic.contact-points"
	jKeyspace       = "basic.session-keyspace"
	jLocalDC        = "basic.load-balancing-policy.local-datacenter"
	jTimeout        = "basic.request.timeout"
	jConsistency    = "basic.request.consistency"
	jConnectTimeout = "advanced.connection.connect-timeout"
	jPoolLocalSize  = "advanced.connection.pool.local.size"
	jProtocol       = "advanced.protocol.version"
	jAuth           = "advanced.auth-provider."
	jSSL            = "advanced.ssl-engine-factory."
)

// javaAuthClasses are the auth-provider classes that take username/password: the simple
// names the driver resolves and their qualified names.
var javaAuthClasses = []string{
	"PlainTextAuthProvider", "DsePlainTextAuthProvider",
	"com.datastax.oss.driver.internal.core.auth.PlainTextAuthProvider",
	"com.datastax.dse.driver.internal.core.auth.DsePlainTextAuthProvider",
}

// javaSSLClasses name DefaultSslEngineFactory.
var javaSSLClasses = []string{
	"DefaultSslEngineFactory", "com.datastax.oss.driver.internal.core.ssl.DefaultSslEngineFactory",
}

// javaProtocols are advanced.protocol.version's values a profile can express.
var javaProtocols = map[string]int{"V3": 3, "V4": 4, "V5": 5}

// javaConsistencies are the driver's consistency levels a profile can express.
var javaConsistencies = []string{"ANY", "ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE"}

// JavaDriver converts the DataStax Java driver 4 configuration file at path
// (application.conf, HOCON) the way the driver reads it: includes relative to the file,
// substitutions (${path}, ${?ENV}) resolved, settings under datastax-java-driver with
// reference.conf's names and defaults. The error is for a file the driver could not
// load either (it wraps ErrSource).
func JavaDriver(path string, opts Options) (*Result, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	settings, others, err := parseHOCON(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSource, path, err)
	}
	j := &javaConf{o: &o, s: settings, used: map[string]bool{},
		res: &Result{Profile: &schema.Profile{Backend: schema.Cassandra}}}
	if len(others) > 0 {
		j.res.note(Dropped, strings.Join(others, ", "), "outside %s: not driver settings", javaRoot)
	}
	if err := j.convert(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSource, path, err)
	}
	return j.res, nil
}

// parseHOCON parses the file and returns the leaves under datastax-java-driver by dotted
// path, and the other top-level keys.
func parseHOCON(path string) (leaves map[string]hocon.Value, others []string, err error) {
	defer func() {
		// The parser panics on some malformed input: a file the driver would refuse too.
		if r := recover(); r != nil {
			err = fmt.Errorf("HOCON: %v", r)
		}
	}()
	cfg, err := hocon.ParseResource(path)
	if err != nil {
		return nil, nil, fmt.Errorf("HOCON: %w", err)
	}
	root, ok := cfg.GetRoot().(hocon.Object)
	if !ok {
		return nil, nil, fmt.Errorf("HOCON: the root is not an object")
	}
	leaves = map[string]hocon.Value{}
	for k, v := range root {
		if k != javaRoot {
			others = append(others, k)
			continue
		}
		flatten("", v, leaves)
	}
	slices.Sort(others)
	return leaves, others, nil
}

func flatten(prefix string, v hocon.Value, out map[string]hocon.Value) {
	if o, ok := v.(hocon.Object); ok {
		for k, x := range o {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, x, out)
		}
		return
	}
	out[prefix] = v
}

type javaConf struct {
	o    *Options
	s    map[string]hocon.Value
	used map[string]bool
	res  *Result
}

// str returns a setting as a string, and whether it is set (null is unset, as in the driver).
func (j *javaConf) str(key string) (string, bool) {
	v, ok := j.s[key]
	j.used[key] = true
	if !ok || v == nil || v.Type() == hocon.NullType {
		return "", false
	}
	return plain(v), true
}

// plain is a value as the text the driver reads: a quoted or unquoted string without the
// parser's quoting, a concatenation (an unquoted a.b.C, or "${x}:9042") joined.
func plain(v hocon.Value) string {
	switch t := v.(type) {
	case nil:
		return ""
	case hocon.String:
		return string(t)
	}
	if v.Type() == hocon.ConcatenationType {
		// The parser's concatenation type is unexported: a slice of values.
		rv := reflect.ValueOf(v)
		var b strings.Builder
		for i := range rv.Len() {
			if e, ok := rv.Index(i).Interface().(hocon.Value); ok {
				b.WriteString(plain(e))
			}
		}
		return b.String()
	}
	return v.String()
}

// duration reads a duration setting: a HOCON duration, a string with a unit, or a number
// of milliseconds (Typesafe Config's rules).
func (j *javaConf) duration(key string) (time.Duration, bool, error) {
	v, ok := j.s[key]
	if d, isDur := v.(hocon.Duration); ok && isDur {
		j.used[key] = true
		return time.Duration(d), true, nil
	}
	s, ok := j.str(key)
	if !ok {
		return 0, false, nil
	}
	d, err := parseJavaDuration(s)
	if err != nil {
		return 0, false, fmt.Errorf("%s = %q: %w", key, s, err)
	}
	return d, true, nil
}

// javaDuration is a number and an optional unit, as Typesafe Config writes durations.
var javaDuration = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$`)

// javaUnits are Typesafe Config's duration units.
var javaUnits = map[string]time.Duration{}

func init() {
	for unit, names := range map[time.Duration][]string{
		time.Nanosecond:  {"ns", "nano", "nanos", "nanosecond", "nanoseconds"},
		time.Microsecond: {"us", "micro", "micros", "microsecond", "microseconds"},
		time.Millisecond: {"", "ms", "milli", "millis", "millisecond", "milliseconds"},
		time.Second:      {"s", "second", "seconds"},
		time.Minute:      {"m", "minute", "minutes"},
		time.Hour:        {"h", "hour", "hours"},
		24 * time.Hour:   {"d", "day", "days"},
	} {
		for _, n := range names {
			javaUnits[n] = unit
		}
	}
}

func parseJavaDuration(s string) (time.Duration, error) {
	m := javaDuration.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("not a duration (write it like \"2 seconds\" or \"500 milliseconds\")")
	}
	unit, ok := javaUnits[m[2]]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q", m[2])
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(f * float64(unit)), nil
}

func (j *javaConf) convert() error {
	p := j.res.Profile
	j.contactPoints()
	if ks, ok := j.str(jKeyspace); ok {
		p.Keyspace = ks
	}
	if dc, ok := j.str(jLocalDC); ok {
		p.LocalDatacenter = dc
	}
	for _, d := range []struct {
		key string
		to  *schema.Duration
	}{{jTimeout, &p.Timeout}, {jConnectTimeout, &p.ConnectTimeout}} {
		v, ok, err := j.duration(d.key)
		if err != nil {
			return err
		}
		if ok {
			if v <= 0 {
				return fmt.Errorf("%s must be positive", d.key)
			}
			*d.to = schema.Duration(v)
		}
	}
	j.consistency()
	if v, ok := j.str(jProtocol); ok {
		if n, known := javaProtocols[strings.ToUpper(v)]; known {
			p.ProtocolVersion = n
		} else {
			j.res.note(Dropped, jProtocol, "%s: the Go driver speaks V3, V4 and V5: left to negotiation", v)
		}
	}
	if v, ok := j.str(jPoolLocalSize); ok {
		j.res.note(Dropped, jPoolLocalSize, "%s: a profile has no pool size yet (gocql opens 2 connections per host by default)", v)
	}
	j.auth()
	if err := j.tls(); err != nil {
		return err
	}
	j.unused()
	return nil
}

// contactPoints maps basic.contact-points as the driver's ContactPoints.extract reads
// each: host and port split at the last ":" (so "::1:9042" and "[::1]:9042" are both
// IPv6), an entry without a number after it ignored.
func (j *javaConf) contactPoints() {
	p := j.res.Profile
	v, ok := j.s[jContactPoints]
	j.used[jContactPoints] = true
	arr, isArr := v.(hocon.Array)
	if ok && !isArr && v != nil && v.Type() != hocon.NullType {
		j.res.note(Dropped, jContactPoints, "not a list: the driver refuses it")
	}
	for _, e := range arr {
		spec := plain(e)
		i := strings.LastIndexByte(spec, ':')
		port, err := strconv.Atoi(spec[i+1:])
		if i < 0 || err != nil || port < 1 || port > 65535 {
			j.res.note(Dropped, jContactPoints, "%q: the driver ignores a contact point without host:port", spec)
			continue
		}
		p.Hosts = append(p.Hosts, hostPort(spec[:i], port))
	}
	if len(p.Hosts) == 0 {
		p.Hosts = []string{javaContactPoint}
		j.res.note(Mapped, jContactPoints, "none: the driver connects to %s", javaContactPoint)
	}
}

func (j *javaConf) consistency() {
	v, ok := j.str(jConsistency)
	switch {
	case !ok:
		j.res.Profile.Consistency = javaConsistency
		j.res.note(Mapped, jConsistency, "unset: the driver's default LOCAL_ONE: consistency = %q", javaConsistency)
	case slices.Contains(javaConsistencies, strings.ToUpper(v)):
		j.res.Profile.Consistency = strings.ToLower(v)
	default:
		j.res.note(Dropped, jConsistency, "%s is not a consistency a profile accepts (%s)", v, strings.ToLower(strings.Join(javaConsistencies, ", ")))
	}
}

// sectionClass reads the class of a pluggable section (auth-provider, ssl-engine-factory)
// and whether it is one of known. Without a class the driver ignores the section: its
// other settings are returned as orphans (sorted) and count as read.
func (j *javaConf) sectionClass(prefix string, known []string) (class string, orphans []string, isKnown bool) {
	class, _ = j.str(prefix + "class")
	if class != "" {
		return class, nil, slices.Contains(known, class)
	}
	for k := range j.s {
		if strings.HasPrefix(k, prefix) && k != prefix+"class" {
			orphans = append(orphans, strings.TrimPrefix(k, prefix))
			j.used[k] = true
		}
	}
	slices.Sort(orphans)
	return "", orphans, false
}

// auth maps advanced.auth-provider: PlainTextAuthProvider's username, password and
// authorization-id (which makes it SASL PLAIN with an authorization id).
func (j *javaConf) auth() {
	class, orphans, known := j.sectionClass(jAuth, javaAuthClasses)
	switch {
	case len(orphans) > 0:
		j.res.note(Mapped, jAuth+"class", "unset: the driver does not authenticate, and neither does the profile (%s ignored)", strings.Join(orphans, ", "))
		return
	case class == "":
		return
	case !known:
		j.res.note(Refused, jAuth+"class", "%s: a profile has PlainTextAuthProvider's username and password only", class)
		return
	}
	a := &schema.Auth{Mechanism: schema.MechanismPassword}
	j.res.Profile.Auth = a
	a.Username, _ = j.str(jAuth + "username")
	what := fmt.Sprintf("the password of %q", a.Username)
	if _, ok := j.str(jAuth + "password"); ok {
		what += " (from " + jAuth + "password)"
	} else {
		j.res.note(Mapped, jAuth+"password", "unset: the driver would refuse to start; the profile reads it from the environment")
	}
	a.Password = j.res.secretEnv(j.o, "PASSWORD", what)
	if id, ok := j.str(jAuth + "authorization-id"); ok && id != "" {
		a.Mechanism, a.AuthorizationID = schema.MechanismSASLPlain, id
		j.res.note(Mapped, jAuth+"authorization-id", "auth.mechanism = \"sasl_plain\" with authorization_id: PLAIN with an authorization identity, as the driver sends it")
	}
	if a.Username == "" {
		j.res.note(Mapped, jAuth+"username", "unset: the driver would refuse to start; set auth.username in the profile")
	}
}

// tls maps advanced.ssl-engine-factory (DefaultSslEngineFactory).
func (j *javaConf) tls() error {
	class, orphans, known := j.sectionClass(jSSL, javaSSLClasses)
	switch {
	case len(orphans) > 0:
		j.res.note(Refused, jSSL+"class", "unset, so the driver does not use TLS although the section sets %s: set class = DefaultSslEngineFactory (or remove them) and import again", strings.Join(orphans, ", "))
		return nil
	case class == "":
		return nil
	case !known:
		j.res.note(Refused, jSSL+"class", "%s: a profile configures the driver's own TLS (DefaultSslEngineFactory) only", class)
		return nil
	}
	t := &schema.TLS{Mode: schema.TLSVerifyFull}
	j.res.Profile.TLS = t
	if v, ok := j.str(jSSL + "hostname-validation"); ok {
		switch strings.ToLower(v) {
		case "true", "yes", "on":
		case "false", "no", "off":
			t.Mode = schema.TLSVerifyCA
			j.res.note(Weaker, jSSL+"hostname-validation", "false: the chain is verified but not the host name: tls.mode = \"verify-ca\"")
		default:
			return fmt.Errorf("%shostname-validation = %q is not a boolean", jSSL, v)
		}
	}
	if v, ok := j.s[jSSL+"cipher-suites"]; ok {
		j.used[jSSL+"cipher-suites"] = true
		j.ciphers(t, v)
	}
	if err := j.javaStores(t); err != nil {
		return err
	}
	if t.TrustStore == nil && !j.res.Refused() {
		j.res.note(Mapped, jSSL+"truststore-path", "unset: the driver trusts the JVM's default trust store; the profile trusts the operating system's")
	}
	return nil
}

// ciphers maps cipher-suites (Java uses the IANA names) and refuses a name the factory
// would not accept, since dropping it would change what is negotiated.
func (j *javaConf) ciphers(t *schema.TLS, v hocon.Value) {
	arr, ok := v.(hocon.Array)
	if !ok {
		j.res.note(Refused, jSSL+"cipher-suites", "not a list: the driver refuses it")
		return
	}
	var names []string
	for _, e := range arr {
		names = append(names, plain(e))
	}
	if _, _, err := ciphers.Parse(names, false); err != nil {
		j.res.note(Refused, jSSL+"cipher-suites", "%v", err)
		return
	}
	t.Ciphers = names
}

// javaStores maps DefaultSslEngineFactory's Java key stores: truststore-path/-password
// to tls.truststore, keystore-path/-password to tls.keystore (the driver opens both with
// KeyStore type "JKS", which JDK 9+ reads as JKS or PKCS#12: the profile detects the type
// from the content), keystore-reload-interval to tls.reload. Paths resolve as the JVM
// opens them (its working directory); passwords become <NAME>_TRUSTSTORE_PASSWORD and
// <NAME>_KEYSTORE_PASSWORD.
func (j *javaConf) javaStores(t *schema.TLS) error {
	storePath := func(key string) (string, bool) {
		v, ok := j.str(jSSL + key)
		if !ok {
			return "", false
		}
		p, rel := j.o.abs(v) // the JVM does not expand "~"
		if rel {
			j.res.note(Mapped, jSSL+key, "%s is relative: the JVM opens it from its working directory, taken as %s", v, j.o.Dir)
		}
		return p, true
	}
	password := func(key, suffix, what string) *schema.SecretSource {
		if _, ok := j.str(jSSL + key); ok {
			return j.res.secretEnv(j.o, suffix, what+" (from "+jSSL+key+")")
		}
		j.res.note(Mapped, jSSL+key, "unset: the driver opens the store without a password (skipping its integrity check); the profile checks it with the empty password")
		return nil
	}
	if p, ok := storePath("truststore-path"); ok {
		t.TrustStore = &schema.TrustStore{File: p,
			Password: password("truststore-password", "TRUSTSTORE_PASSWORD", "the password of trust store "+p)}
	} else if _, ok := j.str(jSSL + "truststore-password"); ok {
		j.res.note(Dropped, jSSL+"truststore-password", "(set) without truststore-path: the driver ignores it")
	}
	if p, ok := storePath("keystore-path"); ok {
		t.KeyStore = &schema.KeyStore{File: p,
			Password: password("keystore-password", "KEYSTORE_PASSWORD", "the password of key store "+p+" (and of its key)")}
	} else if _, ok := j.str(jSSL + "keystore-password"); ok {
		j.res.note(Dropped, jSSL+"keystore-password", "(set) without keystore-path: the driver ignores it")
	}
	d, ok, err := j.duration(jSSL + "keystore-reload-interval")
	switch {
	case err != nil:
		return err
	case ok && t.KeyStore == nil:
		j.res.note(Dropped, jSSL+"keystore-reload-interval", "%s without keystore-path: the driver ignores it", d)
	case ok && d > 0:
		t.Reload = schema.Duration(d)
		j.res.note(Mapped, jSSL+"keystore-reload-interval", "tls.reload = %q: the profile re-reads the trust store, CRLs and password files too", d)
	}
	for _, k := range []string{"truststore-type", "keystore-type"} {
		if v, ok := j.str(jSSL + k); ok {
			j.res.note(Dropped, jSSL+k, "%s: not a driver setting (it opens every store as \"JKS\", which reads JKS and PKCS#12); the profile detects the type from the content", v)
		}
	}
	return nil
}

// unused notes every setting the import did not read: refused under the auth and TLS
// sections (a security setting must not vanish), dropped elsewhere.
func (j *javaConf) unused() {
	var keys []string
	for k := range j.s {
		if !j.used[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var dropped []string
	for _, k := range keys {
		switch {
		case strings.HasPrefix(k, jAuth) || strings.HasPrefix(k, jSSL):
			j.res.note(Refused, k, "a security setting a profile cannot express")
		default:
			dropped = append(dropped, k)
		}
	}
	if len(dropped) > 0 {
		j.res.note(Dropped, strings.Join(dropped, ", "), "no profile setting for these")
	}
}
