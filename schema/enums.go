package schema

import (
	"regexp"
	"strings"
)

// The accepted values of every enumerated key, in the order messages list them. The
// validators check against these lists, the factory relies on them and the JSON Schema's
// enums are generated from them, so each list is written once. The constants of each
// type are in types.go; Backends and TLSModes are there too.
var (
	// Mechanisms lists every authentication mechanism of any backend; which one a backend
	// accepts: MechanismsFor.
	Mechanisms = []Mechanism{
		MechanismNone, MechanismPassword, MechanismSASLPlain,
		MechanismTrust, MechanismPAM, MechanismCertificate,
	}
	// CRLStales lists the accepted values of tls.crl_stale.
	CRLStales = []CRLStale{CRLStaleFail, CRLStaleWarn}
	// Consistencies lists the accepted Cassandra consistency levels, lowercase as written
	// in profiles. The serial levels are missing on purpose: they are not valid as a
	// session's default consistency.
	Consistencies = []string{
		"any", "one", "two", "three", "quorum", "all", "local_quorum", "each_quorum", "local_one",
	}
	// ProtocolVersions lists the accepted CQL protocol versions; 0 negotiates.
	ProtocolVersions = []int{0, 3, 4, 5}
)

// DefaultConsistency is the consistency level of a Cassandra profile that names none:
// local_quorum rather than gocql's quorum, so that a DC-aware client does not wait for
// replicas in other datacenters.
const DefaultConsistency = "local_quorum"

// Accepted lists accepted values for a message: "a, b, c".
func Accepted[T ~string](values []T) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// ProfileNamePattern is what a profile name must match: lowercase letters, digits and _.
// Environment variable names are case-folded by the loaders, so only lowercase names
// survive the round trip. The JSON Schema's propertyNames is this pattern.
const ProfileNamePattern = `^[a-z0-9_]+$`

var profileName = regexp.MustCompile(ProfileNamePattern)

// ValidProfileName reports whether name matches ProfileNamePattern.
func ValidProfileName(name string) bool { return profileName.MatchString(name) }

// ProfileNameProblem is the message of a profile name that is not valid; the loaders
// and validate both report it, worded once so that merged lists hold it once.
func ProfileNameProblem(name string) string {
	return "profile name " + quote(name) + " is not accepted: use lowercase letters, digits and _ " +
		"(names must survive the trip through environment variable names)"
}
