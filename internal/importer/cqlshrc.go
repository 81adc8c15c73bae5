package importer

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/connfactory/connfactory/schema"
)

// cqlsh's defaults (pylib/cqlshlib/cqlshmain.py).
const (
	cqlshHost           = "127.0.0.1"
	cqlshPort           = 9042
	cqlshConnectTimeout = 5 * time.Second
	cqlshRequestTimeout = 10 * time.Second
)

// cqlshRead lists, per section, the options cqlsh reads; the import maps those that
// concern connecting and says so for every other one.
var cqlshRead = map[string][]string{
	"authentication": {"username", "password", "keyspace", "credentials"},
	"connection":     {"hostname", "port", "ssl", "timeout", "request_timeout", "connect_timeout"},
	"ssl":            {"certfile", "validate", "userkey", "usercert", "version", "ssl_mode"},
	"protocol":       {"version"},
}

// cqlshSSLModes are the values of [ssl] ssl_mode in the cqlsh versions that read it, and
// the profile's mode for each (disable makes cqlsh stop when ssl is on).
var cqlshSSLModes = map[string]schema.TLSMode{
	"require":         schema.TLSInsecure,
	"verify-ca":       schema.TLSVerifyCA,
	"verify-identity": schema.TLSVerifyFull,
}

// Cqlshrc converts the cqlshrc at path (its content is data) the way cqlsh reads it: the
// [connection], [authentication], [auth_provider], [ssl], [certfiles] and [protocol]
// sections and the credentials file ([authentication] credentials, by default
// "credentials" next to the cqlshrc). cqlsh's environment variables (CQLSH_HOST,
// SSL_CERTFILE, ...) and command-line flags are not part of the file and are not read.
// The error is for a file cqlsh itself could not read (it wraps ErrSource).
func Cqlshrc(path string, data []byte, opts Options) (*Result, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	ini, err := parseINI(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSource, path, err)
	}
	c := &cqlshrc{o: &o, ini: ini, path: path, res: &Result{Profile: &schema.Profile{Backend: schema.Cassandra}}}
	if err := c.convert(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSource, path, err)
	}
	return c.res, nil
}

type cqlshrc struct {
	o    *Options
	ini  *iniFile
	path string
	res  *Result
	host string
}

// setting names an option in notes: "[ssl] validate".
func setting(section, option string) string { return "[" + section + "] " + option }

// get is cqlsh's option_with_default(configs.get, ...): an interpolation error counts as
// missing, which cqlsh does silently; the import says so.
func (c *cqlshrc) get(section, option string) (string, bool) {
	v, ok, err := c.ini.get(section, option)
	if err != nil {
		c.res.note(Dropped, setting(section, option), "cqlsh ignores this value (%v) and uses its default", err)
		return "", false
	}
	return v, ok
}

// getInt is configs.getint: Python's int(), whose failure stops cqlsh.
func (c *cqlshrc) getInt(section, option string) (int, bool, error) {
	v, ok := c.get(section, option)
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(v), "_", ""))
	if err != nil {
		return 0, false, fmt.Errorf("%s = %q is not an integer (cqlsh would stop)", setting(section, option), v)
	}
	return n, true, nil
}

// getBool is configs.getboolean: one of configparser's BOOLEAN_STATES, else cqlsh stops.
func (c *cqlshrc) getBool(section, option string) (bool, bool, error) {
	v, ok := c.get(section, option)
	if !ok {
		return false, false, nil
	}
	b, known := iniBooleans[strings.ToLower(v)]
	if !known {
		return false, false, fmt.Errorf("%s = %q is not a boolean: configparser accepts 1, yes, true, on, 0, no, false, off (cqlsh would stop)", setting(section, option), v)
	}
	return b, true, nil
}

func (c *cqlshrc) convert() error {
	p := c.res.Profile
	if err := c.connection(); err != nil {
		return err
	}
	if ks, ok := c.get("authentication", "keyspace"); ok && ks != "" {
		p.Keyspace = ks
	}
	p.Consistency = "one"
	c.res.note(Mapped, "consistency", "cqlsh starts every session at CONSISTENCY ONE: consistency = \"one\"")
	if err := c.auth(); err != nil {
		return err
	}
	if err := c.tls(); err != nil {
		return err
	}
	c.unread()
	return nil
}

// connection maps [connection] and [protocol].
func (c *cqlshrc) connection() error {
	p := c.res.Profile
	c.host = cqlshHost
	if h, ok := c.get("connection", "hostname"); ok {
		c.host = h
	}
	port := cqlshPort
	if v, ok := c.get("connection", "port"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%s = %q is not a port number (cqlsh would stop)", setting("connection", "port"), v)
		}
		port = n
	}
	p.Hosts = []string{hostPort(c.host, port)}
	c.res.note(Mapped, setting("connection", "hostname"), "cqlsh connects to %s only (a white list of one host); the Go driver also uses the peers this host reports", p.Hosts[0])

	connect := cqlshConnectTimeout
	n, ok, err := c.getInt("connection", "timeout")
	if err != nil {
		return err
	}
	if ok {
		connect = time.Duration(n) * time.Second
	} else if n, ok, err = c.getInt("connection", "connect_timeout"); err != nil {
		return err
	} else if ok {
		connect = time.Duration(n) * time.Second
		c.res.note(Mapped, setting("connection", "connect_timeout"), "cqlsh itself reads [connection] timeout, not connect_timeout; imported as connect_timeout anyway")
	}
	request := cqlshRequestTimeout
	if n, ok, err := c.getInt("connection", "request_timeout"); err != nil {
		return err
	} else if ok {
		request = time.Duration(n) * time.Second
	}
	if connect <= 0 || request <= 0 {
		return fmt.Errorf("[connection] timeouts must be positive (cqlsh's driver refuses them otherwise)")
	}
	p.ConnectTimeout, p.Timeout = schema.Duration(connect), schema.Duration(request)

	if v, ok, err := c.getInt("protocol", "version"); err != nil {
		return err
	} else if ok {
		switch {
		case v >= 3 && v <= 5:
			p.ProtocolVersion = v
		default:
			c.res.note(Dropped, setting("protocol", "version"), "protocol version %d is not supported by the Go driver (3, 4 or 5): left to negotiation", v)
		}
	}
	return nil
}

// auth maps [authentication], [auth_provider] and the credentials file as cqlsh's
// read_options and authproviderhandling.load_auth_provider do: settings of
// [auth_provider] < the credentials file's [PlainTextAuthProvider] < [authentication]
// username and password of the cqlshrc.
func (c *cqlshrc) auth() error {
	type val struct{ v, from string }
	args := map[string]val{}
	module, hasModule := c.get("auth_provider", "module")
	class, hasClass := c.get("auth_provider", "classname")
	if c.ini.has("auth_provider") {
		for _, k := range c.ini.order {
			if k.section != "auth_provider" || k.option == "module" || k.option == "classname" {
				continue
			}
			if v, ok := c.get(k.section, k.option); ok {
				args[k.option] = val{v, setting(k.section, k.option)}
			}
		}
	}
	switch {
	case !hasModule && !hasClass:
		module, class = "cassandra.auth", "PlainTextAuthProvider"
	case hasModule != hasClass:
		c.res.note(Mapped, "[auth_provider]", "module and classname must both be set; with one of them cqlsh uses no authentication, and neither does the profile")
		return nil
	case module != "cassandra.auth" || class != "PlainTextAuthProvider":
		c.res.note(Refused, "[auth_provider]", "cqlsh loads %s.%s; a profile has password and sasl_plain authentication only", module, class)
		return nil
	}

	credPath, ok := c.get("authentication", "credentials")
	if !ok {
		credPath = filepath.Join(filepath.Dir(c.path), "credentials")
	}
	credPath, _ = c.o.abs(c.o.expandUser(credPath))
	creds, err := c.credentials(credPath, class)
	if err != nil {
		return err
	}
	for k, v := range creds {
		args[k] = val{v, credPath + " [" + class + "] " + k}
	}
	if u, ok := c.get("authentication", "username"); ok && u != "" {
		args["username"] = val{u, setting("authentication", "username")}
	}
	if pw, ok := c.ini.raw("authentication", "password"); ok && pw != "" {
		args["password"] = val{pw, setting("authentication", "password")}
		c.res.note(Mapped, setting("authentication", "password"), "cqlsh calls passwords in the cqlshrc deprecated; the profile reads it from the environment")
	}
	user, ok := args["username"]
	if !ok || user.v == "" {
		if _, ok := args["password"]; ok {
			c.res.note(Mapped, "password", "a password without a username: cqlsh uses no authentication, and neither does the profile")
		}
		return nil
	}
	p := c.res.Profile
	p.Auth = &schema.Auth{Mechanism: schema.MechanismPassword, Username: user.v}
	what := fmt.Sprintf("the password of %q", user.v)
	if pw, ok := args["password"]; ok && pw.v != "" {
		what += " (from " + pw.from + ")"
	} else {
		c.res.note(Mapped, "password", "no password in the source: cqlsh would prompt for it; the profile reads it from the environment")
	}
	p.Auth.Password = c.res.secretEnv(c.o, "PASSWORD", what)
	for _, k := range slices.Sorted(maps.Keys(args)) {
		if k != "username" && k != "password" {
			c.res.note(Dropped, args[k].from, "PlainTextAuthProvider takes username and password only (cqlsh would stop on it)")
		}
	}
	return nil
}

// credentials reads the [class] section of cqlsh's credentials file without
// interpolation. A missing file is no credentials; a file others can read is one cqlsh
// ignores, which the import refuses (the credentials would silently change).
func (c *cqlshrc) credentials(path, class string) (map[string]string, error) {
	info, err := c.o.Stat(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("credentials file %s: %w", path, err)
	}
	if !fileSecure(info) {
		c.res.note(Refused, path, "cqlsh ignores this credentials file: it is readable by group or others (mode %04o) or not owned by you; chmod 600 it (and chown it) and import again", info.Mode().Perm())
		return nil, nil
	}
	data, err := c.o.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("credentials file %s: %w", path, err)
	}
	ini, err := parseINI(data)
	if err != nil {
		return nil, fmt.Errorf("credentials file %s: %w", path, err)
	}
	out := map[string]string{}
	for _, k := range ini.order {
		if k.section != class {
			if k.section != iniDefault {
				c.res.note(Dropped, path+" ["+k.section+"] "+k.option, "cqlsh reads only the [%s] section of the credentials file", class)
			}
			continue
		}
		v, _ := ini.raw(k.section, k.option)
		out[k.option] = v
	}
	return out, nil
}

// fileSecure is cqlshlib.util.is_file_secure: owned by this user (or read by root) and not
// readable by group or others.
func fileSecure(info fs.FileInfo) bool {
	if info.Mode().Perm()&0o044 != 0 {
		return false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	uid := os.Getuid()
	return !ok || uid == 0 || int(st.Uid) == uid
}

// tls maps [ssl] and [certfiles] as sslhandling.ssl_settings does, when [connection] ssl
// is on.
func (c *cqlshrc) tls() error {
	on, _, err := c.getBool("connection", "ssl")
	if err != nil {
		return err
	}
	if !on {
		if c.ini.has("ssl") || c.ini.has("certfiles") {
			c.res.note(Refused, "[ssl]", "the file configures TLS but [connection] ssl is not true, so cqlsh uses TLS only when run with --ssl: "+
				"add ssl = true to [connection] if that is how you run it (or remove [ssl] and [certfiles]) and import again")
		}
		return nil
	}
	t := &schema.TLS{}
	c.res.Profile.TLS = t

	mode := schema.TLSVerifyCA
	if m, ok := c.get("ssl", "ssl_mode"); ok {
		m = strings.ToLower(m)
		known, ok := cqlshSSLModes[m]
		if !ok {
			return fmt.Errorf("[ssl] ssl_mode = %q: cqlsh accepts require, verify-ca or verify-identity with ssl on (it would stop)", m)
		}
		mode = known
		c.res.note(map[bool]Kind{true: Mapped, false: Weaker}[mode == schema.TLSVerifyFull], setting("ssl", "ssl_mode"), "%s: tls.mode = %q", m, mode)
	} else {
		v, ok := c.get("ssl", "validate")
		if ok && strings.ToLower(v) == "false" {
			mode = schema.TLSInsecure
			c.res.note(Weaker, setting("ssl", "validate"), "false: cqlsh does not verify the server's certificate (CERT_NONE): tls.mode = \"insecure\"; the connection can be intercepted")
		} else {
			c.res.note(Weaker, setting("ssl", "validate"), "%s: cqlsh verifies the server's chain against certfile but not its host name (CERT_REQUIRED without check_hostname): tls.mode = \"verify-ca\"; "+
				"set \"verify-full\" if the server certificates name their hosts", map[bool]string{true: fmt.Sprintf("%q", v), false: "unset (true)"}[ok])
		}
	}
	t.Mode = mode

	if v, ok := c.get("ssl", "version"); ok {
		c.res.note(Mapped, setting("ssl", "version"), "%q: cqlsh ignores it and negotiates the version; the profile negotiates TLS 1.2 or 1.3", v)
	}

	ca, err := c.certfile()
	if err != nil {
		return err
	}
	switch {
	case ca == "" && mode != schema.TLSInsecure:
		c.res.note(Refused, setting("ssl", "certfile"), "validation is on but no certfile is set: cqlsh stops here; set [ssl] certfile (or [certfiles] %s) and import again", c.host)
	case ca != "" && mode == schema.TLSInsecure:
		c.res.note(Mapped, setting("ssl", "certfile"), "not used: nothing is verified with validate = false")
	case ca != "":
		t.CA = []schema.MaterialSource{*fileSource(c.file("ssl", "certfile", ca))}
	}

	cert, hasCert := c.get("ssl", "usercert")
	key, hasKey := c.get("ssl", "userkey")
	switch {
	case hasCert && cert != "":
		t.Cert = fileSource(c.file("ssl", "usercert", cert))
		if hasKey && key != "" {
			t.Key = fileSource(c.file("ssl", "userkey", key))
		} else {
			t.Key = fileSource(t.Cert.File)
			c.res.note(Mapped, setting("ssl", "usercert"), "no userkey: Python reads the key from the certificate file, and so does the profile")
		}
	case hasKey && key != "":
		c.res.note(Dropped, setting("ssl", "userkey"), "cqlsh loads a client key only together with usercert: not imported")
	}
	return nil
}

// certfile returns the CA file cqlsh uses for the host: [certfiles] <host> (option names
// are lower-cased), else [ssl] certfile. A [certfiles] entry for another host naming
// another file is refused: one profile has one CA for all its hosts.
func (c *cqlshrc) certfile() (string, error) {
	ca, ok := c.get("certfiles", strings.ToLower(c.host))
	if !ok {
		ca, _ = c.get("ssl", "certfile")
	}
	for _, k := range c.ini.order {
		if k.section != "certfiles" {
			continue
		}
		v, ok := c.get(k.section, k.option)
		if ok && c.o.expandUser(v) != c.o.expandUser(ca) {
			c.res.note(Refused, setting("certfiles", k.option), "host %s has its own CA (%s) but cqlsh connects to %s with %s: a profile has one tls.ca for all its hosts; "+
				"import one host at a time ([connection] hostname), or give every host the same file", k.option, v, c.host, map[bool]string{true: ca, false: "none"}[ca != ""])
		}
	}
	return ca, nil
}

// file resolves a path of [section] option as Python opens it: "~" expanded, relative to
// the working directory.
func (c *cqlshrc) file(section, option, p string) string {
	abs, rel := c.o.abs(c.o.expandUser(p))
	if rel {
		c.res.note(Mapped, setting(section, option), "relative path %q: cqlsh opens it from its working directory; resolved against %s", p, c.o.Dir)
	}
	return abs
}

// unread notes every option of the file the import did not map.
func (c *cqlshrc) unread() {
	dropped := map[string][]string{}
	var sections []string
	for _, k := range c.ini.order {
		if k.section == "certfiles" || k.section == "auth_provider" || k.section == iniDefault || slices.Contains(cqlshRead[k.section], k.option) {
			continue
		}
		if dropped[k.section] == nil {
			sections = append(sections, k.section)
		}
		dropped[k.section] = append(dropped[k.section], k.option)
	}
	for _, s := range sections {
		why := "not about connecting"
		if _, known := cqlshRead[s]; known {
			why = "cqlsh does not read these"
		}
		if s == "cql" {
			why = "the CQL version is negotiated"
		}
		c.res.note(Dropped, "["+s+"] "+strings.Join(dropped[s], ", "), "%s", why)
	}
}
