package fieldcrypt

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"yiku/cryptosuite"
)

// A sealed field value is a JSON string
//
//	"ykf1.<key version>.<suite>.<base64url(nonce ‖ ciphertext ‖ tag)>"
//
// The key version names the resource's data key (its wrapped form, with the
// key-encryption key that wraps it, is in the database); the suite is that
// key's cipher (AES-256-GCM for default, SM4-GCM for sm). The plaintext is
// the field's JSON value as the canonical record holds it, quotes included,
// so that opening gives back the canonical record byte for byte. The
// resource and the field name are the cipher's additional data: a sealed
// value copied to another field or resource does not open.
const prefix = "ykf1."

// quotedPrefix is how a sealed value starts inside a JSON document.
var quotedPrefix = []byte(`"` + prefix)

// nonceSize is the GCM nonce of both suites; tagSize their tag.
const (
	nonceSize = 12
	tagSize   = 16
	// maxVersion bounds key versions so that they fit every int.
	maxVersion = 1<<31 - 1
)

// ErrSealed is returned for a sealed value that cannot be parsed or opened:
// malformed, under a key version the resource does not have, altered, or
// moved from another field or resource.
var ErrSealed = errors.New("fieldcrypt: sealed field value is malformed, altered or under an unknown key")

// sealed is a parsed sealed value.
type sealed struct {
	Version int
	Suite   cryptosuite.Name
	Nonce   []byte
	Box     []byte // ciphertext and tag
}

// format writes s as the text of a sealed value (without JSON quotes).
func (s sealed) format() string {
	raw := make([]byte, 0, len(s.Nonce)+len(s.Box))
	raw = append(append(raw, s.Nonce...), s.Box...)
	return prefix + strconv.Itoa(s.Version) + "." + string(s.Suite) + "." + base64.RawURLEncoding.EncodeToString(raw)
}

// parseSealed parses the text of a sealed value (the JSON string's
// contents). It accepts exactly what format writes.
func parseSealed(text string) (sealed, error) {
	rest, ok := strings.CutPrefix(text, prefix)
	if !ok {
		return sealed{}, ErrSealed
	}
	ver, rest, ok := strings.Cut(rest, ".")
	if !ok || ver == "" || len(ver) > 10 || (ver[0] == '0') {
		return sealed{}, ErrSealed
	}
	n, err := strconv.Atoi(ver)
	if err != nil || n < 1 || n > maxVersion || strconv.Itoa(n) != ver {
		return sealed{}, ErrSealed
	}
	suite, b64, ok := strings.Cut(rest, ".")
	if !ok {
		return sealed{}, ErrSealed
	}
	cs, err := cryptosuite.Get(suite)
	if err != nil || string(cs.Name()) != suite {
		return sealed{}, ErrSealed
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) < nonceSize+tagSize {
		return sealed{}, ErrSealed
	}
	return sealed{Version: n, Suite: cs.Name(), Nonce: raw[:nonceSize], Box: raw[nonceSize:]}, nil
}

// aad is the additional data of a field's value: the value belongs to this
// field of this resource under this key version and suite.
func aad(resource, field string, version int, suite cryptosuite.Name) []byte {
	b := make([]byte, 0, 16+len(resource)+len(field)+len(suite))
	b = append(b, "yiku field v1\x00"...)
	b = append(b, resource...)
	b = append(b, 0)
	b = append(b, field...)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(version), 10)
	b = append(b, 0)
	return append(b, suite...)
}
