package schemas

import (
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Names of the JSON Schema formats RegisterFormats adds.
const (
	FormatResidentID   = "cn-resident-id"
	FormatUSCC         = "cn-uscc"
	FormatDivisionCode = "cn-division-code"
	FormatElicenceID   = "cn-elicence-id"
)

// RegisterFormats registers the identifier formats on c and turns format
// assertion on, so a value that fails its format fails validation (draft
// 2020-12 treats formats as annotations otherwise). The format errors carry
// the validator's reason, e.g. "check character should be 3, got 2".
//
// cn-uscc fails only on hard errors (alphabet, check character); warnings
// do not fail validation.
func RegisterFormats(c *jsonschema.Compiler) {
	for _, f := range formats() {
		c.RegisterFormat(f)
	}
	c.AssertFormat()
}

func formats() []*jsonschema.Format {
	return []*jsonschema.Format{
		{Name: FormatResidentID, Validate: stringFormat(func(s string) error {
			return checkResidentID(s, todayIn(time.Now()))
		})},
		{Name: FormatUSCC, Validate: stringFormat(checkUSCC)},
		{Name: FormatDivisionCode, Validate: stringFormat(checkDivisionCode)},
		{Name: FormatElicenceID, Validate: stringFormat(func(s string) error {
			_, err := parseElicenceID(s)
			return err
		})},
	}
}

// stringFormat adapts a string check to a format validator. Formats apply
// to strings only; other types are left to the "type" keyword.
func stringFormat(check func(string) error) func(any) error {
	return func(v any) error {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		return check(s)
	}
}
