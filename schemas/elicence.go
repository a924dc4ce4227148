package schemas

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Electronic licence identifier [电子证照标识], GB/T 36904-2018, as public
// implementations build it:
//
//	1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>
//
// type code: the defining agency's 18-character USCC + 3 digits; issuer:
// the issuing authority's USCC; version: 3 digits; check: ISO/IEC 7064
// MOD 37,36 over type+issuer+serial+version with root and dots removed.

// ElicenceRoot is the object-identifier root of every e-licence ID.
const ElicenceRoot = "1.2.156.3005.2"

const (
	alnum36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	// maxElicenceSerial bounds the serial. The standard leaves its length
	// to the issuer; 64 is our limit, twice the longest seen (a 32-digit
	// hex UUID).
	maxElicenceSerial = 64
	elicenceTypeLen   = usccLen + 3
	elicenceVerLen    = 3
)

// ElicenceID is a parsed e-licence identifier.
type ElicenceID struct {
	TypeCode string // 证照类型代码, USCC + 3 digits
	Issuer   string // 证照颁发机构代码, USCC
	Serial   string // 流水号
	Version  string // 版本号, 3 digits
	Check    byte   // 校验位
}

// String returns the identifier in its dotted form.
func (e ElicenceID) String() string {
	return strings.Join([]string{ElicenceRoot, e.TypeCode, e.Issuer, e.Serial, e.Version, string(e.Check)}, ".")
}

// ElicenceCheckChar computes the ISO/IEC 7064 MOD 37,36 check character
// over data, the concatenation type+issuer+serial+version (digits and
// upper-case letters, no dots).
func ElicenceCheckChar(data string) (byte, error) {
	if data == "" {
		return 0, fmt.Errorf("e-licence check data: %w: empty", ErrLength)
	}
	if err := checkAlnum36(data); err != nil {
		return 0, fmt.Errorf("e-licence check data: %w", err)
	}
	return mod3736Check(data), nil
}

// mod3736Check: data must consist of alnum36 characters.
func mod3736Check(data string) byte {
	p := 36
	for i := range len(data) {
		p = mod3736Step(p, strings.IndexByte(alnum36, data[i]))
	}
	return alnum36[(37-p)%36]
}

func mod3736Step(p, v int) int {
	t := (p + v) % 36
	if t == 0 {
		t = 36
	}
	return 2 * t % 37
}

func checkAlnum36(s string) error {
	for i := range len(s) {
		c := s[i]
		switch {
		case isDigit(c) || isUpper(c):
		case isLower(c):
			return lowerError(s, i, "GB/T 36904")
		default:
			return charError(s, i, ", want a digit or upper-case letter")
		}
	}
	return nil
}

// ValidateElicenceID checks s as a canonical e-licence identifier: the
// root, five dot-separated parts, a type code and issuer that are valid
// USCCs (alphabet and check character; their warnings are ignored), a serial
// of 1-64 digits or upper-case letters, a 3-digit version and the check
// character.
func ValidateElicenceID(s string) error {
	_, err := ParseElicenceID(s)
	return err
}

// ParseElicenceID validates s like ValidateElicenceID and splits it.
func ParseElicenceID(s string) (ElicenceID, error) {
	id, err := parseElicenceID(s)
	if err != nil {
		return ElicenceID{}, fmt.Errorf("e-licence ID: %w", err)
	}
	return id, nil
}

func parseElicenceID(s string) (ElicenceID, error) {
	rest, ok := strings.CutPrefix(s, ElicenceRoot+".")
	if !ok {
		return ElicenceID{}, fmt.Errorf("%w: does not start with the root %s", ErrSegment, ElicenceRoot)
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 5 {
		return ElicenceID{}, fmt.Errorf("%w: want 5 dot-separated parts after the root (type.issuer.serial.version.check), got %d",
			ErrSegment, len(parts))
	}
	id := ElicenceID{TypeCode: parts[0], Issuer: parts[1], Serial: parts[2], Version: parts[3]}
	if err := checkElicenceParts(id); err != nil {
		return ElicenceID{}, err
	}
	check := parts[4]
	if utf8.RuneCountInString(check) != 1 {
		return ElicenceID{}, fmt.Errorf("check character: %w", lengthError(check, "1"))
	}
	if err := checkAlnum36(check); err != nil {
		return ElicenceID{}, fmt.Errorf("check character: %w", err)
	}
	want := mod3736Check(id.TypeCode + id.Issuer + id.Serial + id.Version)
	if want != check[0] {
		return ElicenceID{}, &CheckCharError{Want: want, Got: check[0]}
	}
	id.Check = want
	return id, nil
}

// checkElicenceParts checks every part but the check character.
func checkElicenceParts(id ElicenceID) error {
	if utf8.RuneCountInString(id.TypeCode) != elicenceTypeLen {
		return fmt.Errorf("type code: %w", lengthError(id.TypeCode, "21 (USCC + 3 digits)"))
	}
	if err := checkUSCC(id.TypeCode[:usccLen]); err != nil {
		return fmt.Errorf("type code: USCC part: %w", err)
	}
	if !allDigits(id.TypeCode[usccLen:]) {
		return fmt.Errorf("type code: %w: last 3 characters %q must be digits", ErrSegment, id.TypeCode[usccLen:])
	}
	if err := checkUSCC(id.Issuer); err != nil {
		return fmt.Errorf("issuer code: %w", err)
	}
	if n := utf8.RuneCountInString(id.Serial); n < 1 || n > maxElicenceSerial {
		return fmt.Errorf("serial: %w", lengthError(id.Serial, "1-64"))
	}
	if err := checkAlnum36(id.Serial); err != nil {
		return fmt.Errorf("serial: %w", err)
	}
	if utf8.RuneCountInString(id.Version) != elicenceVerLen {
		return fmt.Errorf("version: %w", lengthError(id.Version, "3"))
	}
	for i := range len(id.Version) {
		if !isDigit(id.Version[i]) {
			return fmt.Errorf("version: %w", charError(id.Version, i, ", want a digit"))
		}
	}
	return nil
}

// BuildElicenceID assembles a valid e-licence identifier from its parts,
// computing the check character. It refuses parts ValidateElicenceID would
// refuse.
func BuildElicenceID(typeCode, issuer, serial, version string) (string, error) {
	id := ElicenceID{TypeCode: typeCode, Issuer: issuer, Serial: serial, Version: version}
	if err := checkElicenceParts(id); err != nil {
		return "", fmt.Errorf("build e-licence ID: %w", err)
	}
	id.Check = mod3736Check(typeCode + issuer + serial + version)
	return id.String(), nil
}
