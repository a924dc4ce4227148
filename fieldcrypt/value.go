package fieldcrypt

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strconv"

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

// ErrNoKey is returned for a sealed value or pseudonym whose resource has
// no data key of its version here: one not handed over yet by the peer hub
// that sealed it (Under), or lost. Unlike ErrSealed it may pass: a sink
// holds such a record and retries rather than skip it.
var ErrNoKey = errors.New("fieldcrypt: no data key of this version here (not yet handed over, or lost)")

// sealed is a parsed sealed value.
type sealed struct {
	Version int
	Suite   cryptosuite.Name
	Nonce   []byte
	Box     []byte // ciphertext and tag
}

// appendSealed appends the sealed value of nonceAndBox (the nonce, the
// ciphertext and its tag) under key version and suite to dst, as a JSON
// string.
func appendSealed(dst []byte, version int, suite cryptosuite.Name, nonceAndBox []byte) []byte {
	dst = append(dst, '"')
	dst = append(dst, prefix...)
	dst = strconv.AppendInt(dst, int64(version), 10)
	dst = append(dst, '.')
	dst = append(dst, suite...)
	dst = append(dst, '.')
	dst = b64.AppendEncode(dst, nonceAndBox)
	return append(dst, '"')
}

var b64 = base64.RawURLEncoding.Strict()

// parseSealedInto parses the text of a sealed value (the JSON string's
// contents), accepting exactly what appendSealed writes. It decodes into
// the scratch buffer raw, which it returns for reuse; the nonce and box
// point into it.
func parseSealedInto(raw, text []byte) (sealed, []byte, error) {
	return parseWithPrefix(raw, text, prefix)
}

// parseWithPrefix parses a sealed value or subject pseudonym (pre is
// prefix or subjectPrefix).
func parseWithPrefix(raw, text []byte, pre string) (sealed, []byte, error) {
	rest, ok := bytes.CutPrefix(text, []byte(pre))
	if !ok {
		return sealed{}, raw, ErrSealed
	}
	ver, rest, ok := bytes.Cut(rest, []byte("."))
	if !ok || len(ver) == 0 || len(ver) > 10 || ver[0] == '0' {
		return sealed{}, raw, ErrSealed
	}
	n := 0
	for _, d := range ver {
		if d < '0' || d > '9' {
			return sealed{}, raw, ErrSealed
		}
		n = n*10 + int(d-'0')
	}
	if n < 1 || n > maxVersion {
		return sealed{}, raw, ErrSealed
	}
	suite, enc, ok := bytes.Cut(rest, []byte("."))
	if !ok {
		return sealed{}, raw, ErrSealed
	}
	var name cryptosuite.Name
	switch cryptosuite.Name(suite) {
	case cryptosuite.Default:
		name = cryptosuite.Default
	case cryptosuite.SM:
		name = cryptosuite.SM
	default:
		return sealed{}, raw, ErrSealed
	}
	raw, err := b64.AppendDecode(raw[:0], enc)
	if err != nil || len(raw) < nonceSize+tagSize {
		return sealed{}, raw, ErrSealed
	}
	return sealed{Version: n, Suite: name, Nonce: raw[:nonceSize], Box: raw[nonceSize:]}, raw, nil
}

// appendAAD appends the additional data of a field's value to b: the value
// belongs to this field of this resource under this key version and suite.
func appendAAD(b []byte, resource, field string, version int, suite cryptosuite.Name) []byte {
	b = append(b, "yiku field v1\x00"...)
	b = append(b, resource...)
	b = append(b, 0)
	b = append(b, field...)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(version), 10)
	b = append(b, 0)
	return append(b, suite...)
}
