package mask

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"strconv"
	"sync"
	"unicode"
	"unicode/utf8"

	"yiku/jsontext"
)

// MinKeyLen is the shortest key accepted for RuleKeyedHash. Identifiers such
// as ID numbers have little entropy, so a pseudonym is only as strong as its
// key; use 32 random bytes.
const MinKeyLen = 16

// ErrKey is returned when RuleKeyedHash is to be applied without a key of at
// least MinKeyLen bytes.
var ErrKey = errors.New("keyed_hash needs a key of at least 16 bytes")

// Kept parts per rule, in runes.
const (
	idHead, idTail         = 6, 4
	mobileHead, mobileTail = 3, 4
	usccHead, usccTail     = 8, 2
	nameHead               = 1
	addressHead            = 6
	yearLen                = 4

	redacted   = "***"
	hashPrefix = "h:"
	hashBytes  = 16 // 32 hex digits, 128 bits
)

// Value masks one value under rule r, as a Plan would for a field with that
// rule: for masking outside a record, such as an identifier echoed in a
// lookup response. key is used by RuleKeyedHash only. RuleNone returns v
// unchanged. Each call to Value with RuleKeyedHash sets up a new HMAC; mask
// many values through a Plan.
func Value(r Rule, v any, key []byte) (any, error) {
	if !r.valid() {
		return nil, fmt.Errorf("mask: value: %w %d", ErrUnknownRule, uint8(r))
	}
	if r == RuleNone {
		return v, nil
	}
	var m masker
	if r == RuleKeyedHash {
		if len(key) < MinKeyLen {
			return nil, fmt.Errorf("mask: value: %w", ErrKey)
		}
		m.h = newHasher(key)
	}
	return m.value(r, v), nil
}

// masker masks values for the duration of one call. It takes an HMAC from
// the plan's pool the first time a keyed hash is needed and gives it back in
// release, so records without keyed_hash fields never touch the pool.
type masker struct {
	pool *sync.Pool
	h    *hasher
}

func (m *masker) hasher() *hasher {
	if m.h == nil {
		m.h = m.pool.Get().(*hasher)
	}
	return m.h
}

func (m *masker) release() {
	if m.h != nil && m.pool != nil {
		m.pool.Put(m.h)
	}
	m.h = nil
}

// value masks a decoded JSON value. r is a valid rule other than RuleNone.
func (m *masker) value(r Rule, v any) any {
	switch x := v.(type) {
	case nil:
		return nil // null hides nothing and stays null
	case string:
		if r == RuleRedact {
			return redacted
		}
		return m.string(r, x)
	}
	if r.acceptsNumber() {
		if s, ok := numberText(v); ok {
			return m.string(r, s)
		}
	}
	// Booleans, objects, arrays, numbers under text rules, and anything a
	// caller put in the map that JSON would not: nothing of it is shown.
	return nil
}

func (m *masker) string(r Rule, s string) string {
	var buf [64]byte
	return string(appendMask(buf[:0], r, s, m))
}

// numberText returns the decimal text of a number as JSON would carry it.
func numberText(v any) (string, bool) {
	switch x := v.(type) {
	case json.Number:
		return string(x), true
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return "", false
		}
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		f := float64(x)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return "", false
		}
		return strconv.FormatFloat(f, 'f', -1, 32), true
	case int:
		return strconv.FormatInt(int64(x), 10), true
	case int8:
		return strconv.FormatInt(int64(x), 10), true
	case int16:
		return strconv.FormatInt(int64(x), 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint:
		return strconv.FormatUint(uint64(x), 10), true
	case uint8:
		return strconv.FormatUint(uint64(x), 10), true
	case uint16:
		return strconv.FormatUint(uint64(x), 10), true
	case uint32:
		return strconv.FormatUint(uint64(x), 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	}
	return "", false
}

// appendMask appends s masked under r, which is a valid rule other than
// RuleNone. The empty string stays empty under every rule but redact: there
// is nothing in it to hide, and a placeholder would suggest a value.
func appendMask[T jsontext.Text](dst []byte, r Rule, s T, m *masker) []byte {
	if r == RuleRedact {
		return append(dst, redacted...)
	}
	if len(s) == 0 {
		return dst
	}
	switch r {
	case RuleIDNumber:
		return appendKeep(dst, s, idHead, idTail)
	case RuleMobile:
		return appendKeep(dst, s, mobileHead, mobileTail)
	case RuleUSCC:
		return appendKeep(dst, s, usccHead, usccTail)
	case RuleName:
		return appendKeep(dst, s, nameHead, 0)
	case RuleAddress:
		return appendKeep(dst, s, addressHead, 0)
	case RuleEmail:
		return appendEmail(dst, s)
	case RuleDate:
		return appendDate(dst, s)
	case RuleKeyedHash:
		return appendHash(dst, m.hasher(), s)
	}
	return append(dst, redacted...) // not reached; hide rather than show
}

// appendKeep keeps the first head and the last tail runes of s and writes one
// '*' for every rune between them. A value with no more than head+tail runes
// would be shown whole, so it is masked whole.
func appendKeep[T jsontext.Text](dst []byte, s T, head, tail int) []byte {
	n := runeCount(s)
	if n <= head+tail {
		return appendStars(dst, n)
	}
	hb, tb := head, len(s)-tail // byte offsets: masked part, kept tail
	if n != len(s) {
		tb = len(s)
		for i, k := 0, 0; i < len(s); k++ {
			if k == head {
				hb = i
			}
			if k == n-tail {
				tb = i
				break
			}
			_, w := jsontext.DecodeRune(s, i)
			i += w
		}
	}
	dst = append(dst, s[:hb]...)
	dst = appendStars(dst, n-head-tail)
	return append(dst, s[tb:]...)
}

const stars = "********************************"

func appendStars(dst []byte, n int) []byte {
	for n > len(stars) {
		dst = append(dst, stars...)
		n -= len(stars)
	}
	return append(dst, stars[:n]...)
}

// appendEmail keeps the first rune of the local part and the domain:
// zhangsan@example.gov.cn → z***@example.gov.cn. The split is at the last
// '@', since a quoted local part may hold one. A one-rune local part is not
// shown at all, and a value without a local part and domain is not an e-mail
// address, so it is redacted.
func appendEmail[T jsontext.Text](dst []byte, s T) []byte {
	at := -1
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '@' {
			at = i
			break
		}
	}
	if at <= 0 {
		return append(dst, redacted...)
	}
	if _, w := jsontext.DecodeRune(s, 0); w < at {
		dst = append(dst, s[:w]...)
	}
	dst = append(dst, redacted...)
	return append(dst, s[at:]...)
}

// appendDate keeps a leading four-digit year and the separators, and masks
// every other letter and digit: 1985-03-12 → 1985-**-**, 19850312 → 1985****,
// 1985年3月12日 → 1985年*月**日, 1985-03-12T08:30:00Z → 1985-**-**T**:**:**Z.
// A value that does not start with four ASCII digits has no year to keep
// (85-03-12, 03/12/1985), so all its letters and digits are masked.
func appendDate[T jsontext.Text](dst []byte, s T) []byte {
	i := 0
	if len(s) >= yearLen && isDigit(s[0]) && isDigit(s[1]) && isDigit(s[2]) && isDigit(s[3]) {
		dst = append(dst, s[:yearLen]...)
		i = yearLen
	}
	for i < len(s) {
		r, w := jsontext.DecodeRune(s, i)
		if dateSeparator(r) {
			dst = append(dst, s[i:i+w]...)
		} else {
			dst = append(dst, '*')
		}
		i += w
	}
	return dst
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// dateSeparator reports whether r is shown in a masked date: punctuation,
// spaces and symbols, the units of Chinese dates and times, and the T and Z
// of RFC 3339. Invalid bytes are masked.
func dateSeparator(r rune) bool {
	switch r {
	case 'T', 'Z', '年', '月', '日', '号', '时', '分', '秒':
		return true
	case utf8.RuneError:
		return false
	}
	return !unicode.IsLetter(r) && !unicode.IsNumber(r)
}

// runeCount counts runes as utf8.RuneCount does: each invalid byte is one.
func runeCount[T jsontext.Text](s T) int {
	n := 0
	for i := 0; i < len(s); n++ {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, w := jsontext.DecodeRune(s, i)
		i += w
	}
	return n
}

// hasher is one HMAC-SHA256 with its buffers, reused through a Plan's pool.
type hasher struct {
	mac hash.Hash
	in  []byte
	sum [sha256.Size]byte
}

func newHasher(key []byte) *hasher {
	return &hasher{mac: hmac.New(sha256.New, key)}
}

// appendHash appends "h:" and the first 32 hex digits (128 bits) of
// HMAC-SHA256(key, s). The value is hashed exactly as given: no trimming or
// case folding, so canonical forms must be settled at ingest, where ID
// numbers and credit codes are validated. No field name goes into the hash,
// so the same person's ID number stored as id_number by one department and
// as sfzh by another gives the same pseudonym under the same key.
func appendHash[T jsontext.Text](dst []byte, h *hasher, s T) []byte {
	h.mac.Reset()
	h.in = append(h.in[:0], s...)
	h.mac.Write(h.in)
	sum := h.mac.Sum(h.sum[:0])
	dst = append(dst, hashPrefix...)
	return hex.AppendEncode(dst, sum[:hashBytes])
}
