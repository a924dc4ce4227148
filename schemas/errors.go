package schemas

import (
	"errors"
	"fmt"
)

// Error kinds shared by all identifier validators. Validators wrap one of
// them with the identifier's name and the detail, so callers can branch with
// errors.Is and still show a precise message, for example
//
//	resident ID: wrong length: got 17 characters, want 18
//	USCC: check character should be 3, got 4
var (
	// ErrLength: the value has the wrong number of characters.
	ErrLength = errors.New("wrong length")
	// ErrCharset: a character is outside the identifier's alphabet.
	ErrCharset = errors.New("invalid character")
	// ErrNotCanonical: the value is valid except for its spelling (lower
	// case where the standard writes upper case); a lenient input step such
	// as NormalizeResidentID can fix it.
	ErrNotCanonical = errors.New("not in canonical form")
	// ErrCheckChar: the check character does not match the body.
	// errors.As with *CheckCharError gives the expected character.
	ErrCheckChar = errors.New("check character mismatch")
	// ErrDate: an embedded date is not a real calendar date.
	ErrDate = errors.New("invalid date")
	// ErrFutureDate: an embedded birth date lies after today.
	ErrFutureDate = errors.New("date in the future")
	// ErrLegacyID: a 15-digit GB 11643-1989 resident ID number; the message
	// names its 18-digit upgrade when the number can be upgraded.
	ErrLegacyID = errors.New("15-digit legacy number")
	// ErrAreaCode: the leading address or region digits cannot be a
	// GB/T 2260 code.
	ErrAreaCode = errors.New("implausible area code")
	// ErrSegment: a part of a structured code is outside the ranges its
	// standard allocates (division code levels, e-licence parts).
	ErrSegment = errors.New("invalid segment")
)

// CheckCharError reports a check character that does not match the body of
// an identifier. It matches ErrCheckChar under errors.Is.
type CheckCharError struct {
	Want byte // the check character computed from the body
	Got  byte // the check character found in the value
}

func (e *CheckCharError) Error() string {
	return fmt.Sprintf("check character should be %c, got %c", e.Want, e.Got)
}

// Is makes errors.Is(err, ErrCheckChar) true.
func (e *CheckCharError) Is(target error) bool { return target == ErrCheckChar }
