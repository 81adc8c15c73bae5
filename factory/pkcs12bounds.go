package factory

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// maxPKCS12Iterations is the largest key derivation or MAC iteration count a PKCS#12
// file may ask for. go-pkcs12 runs whatever count the file says, about 2 s per million
// here, so a file asking for 2^31 would hang the compile. OpenSSL writes 2048, the JDK
// 10,000; Java refuses more than 5,000,000 (PKCS12KeyStore's MAX_ITERATION_COUNT), which
// would still cost some 10 s per compile or reload here.
const maxPKCS12Iterations = 1_000_000

// errPKCS12Iterations is why a PKCS#12 file is refused before it is decrypted.
var errPKCS12Iterations = fmt.Errorf("asks for more than %d key derivation iterations (OpenSSL writes 2048, the JDK 10,000): refused rather than spend seconds to minutes on every compile and reload", maxPKCS12Iterations)

// checkPKCS12Iterations walks the DER of a PKCS#12 file, into OCTET STRINGs that hold
// DER themselves (the PFX's data contents), and refuses an iteration count above
// maxPKCS12Iterations: every place PKCS#12 keeps one (PBEParameter, PBKDF2-params,
// MacData) is an OCTET STRING salt followed by an INTEGER. Contents that are still
// encrypted are checked by the library's own parameters only once decrypted; the keys
// Java, OpenSSL and go-pkcs12 write sit in unencrypted contents.
func checkPKCS12Iterations(der []byte) error {
	return walkIterations(der, 0)
}

func walkIterations(der []byte, depth int) error {
	if depth > 24 {
		return errors.New("nested too deeply")
	}
	var prevOctet bool
	for rest := der; len(rest) > 0; {
		var v asn1.RawValue
		next, err := asn1.Unmarshal(rest, &v)
		if err != nil {
			return nil // not DER here: the library reports what it makes of it
		}
		rest = next
		switch {
		case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagInteger && prevOctet:
			n := new(big.Int).SetBytes(v.Bytes)
			if len(v.Bytes) > 0 && v.Bytes[0]&0x80 == 0 && n.Cmp(big.NewInt(maxPKCS12Iterations)) > 0 {
				return errPKCS12Iterations
			}
		case v.IsCompound:
			if err := walkIterations(v.Bytes, depth+1); err != nil {
				return err
			}
		case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString && isDER(v.Bytes):
			if err := walkIterations(v.Bytes, depth+1); err != nil {
				return err
			}
		}
		prevOctet = v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString
	}
	return nil
}

// isDER reports whether b is wholly a sequence of DER elements (an OCTET STRING wrapping
// encoded contents, not a digest or a salt).
func isDER(b []byte) bool {
	for rest := b; len(rest) > 0; {
		var v asn1.RawValue
		next, err := asn1.Unmarshal(rest, &v)
		if err != nil {
			return false
		}
		rest = next
	}
	return len(b) > 0
}
