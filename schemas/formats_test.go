package schemas

import (
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compileInline compiles a one-off schema on a compiler prepared only by
// RegisterFormats, as other packages will do.
func compileInline(t *testing.T, schema string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	RegisterFormats(c)
	if err := c.AddResource("inline.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("inline.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func TestFormats(t *testing.T) {
	tests := []struct {
		format string
		value  any
		msg    string // "" = valid
	}{
		{FormatResidentID, "431302198506159913", ""},
		{FormatResidentID, "431302198506159912", "check character should be 3, got 2"},
		{FormatResidentID, "11010519491231002x", "lower-case x"},
		{FormatResidentID, "431302850615991", "upgrade to 18 digits as 431302198506159913"},
		{FormatResidentID, 431302198506159913, ""}, // formats apply to strings only
		{FormatUSCC, "91350100M000100Y43", ""},
		{FormatUSCC, "91431302MA4LD9Q001", ""}, // warning only
		{FormatUSCC, "B1431302D99001787C", ""}, // warning only
		{FormatUSCC, "91350100M000100Y44", "check character should be 3, got 4"},
		{FormatDivisionCode, "431302", ""},
		{FormatDivisionCode, "431302000", "township part 000"},
		{FormatElicenceID, publicElicenceIDs[0], ""},
		{FormatElicenceID, strings.TrimSuffix(publicElicenceIDs[0], "U") + "V", "check character should be U, got V"},
	}
	for _, tt := range tests {
		sch := compileInline(t, `{"$schema": "https://json-schema.org/draft/2020-12/schema", "format": "`+tt.format+`"}`)
		err := sch.Validate(tt.value)
		switch {
		case tt.msg == "" && err != nil:
			t.Errorf("%s %v: %v", tt.format, tt.value, err)
		case tt.msg != "" && err == nil:
			t.Errorf("%s %v: valid, want %q", tt.format, tt.value, tt.msg)
		case tt.msg != "" && !strings.Contains(err.Error(), tt.msg):
			t.Errorf("%s %v: %q, want %q", tt.format, tt.value, err, tt.msg)
		}
	}
}

// The format message comes without the validator's "resident ID:" prefix,
// since the library already names the format.
func TestFormatMessage(t *testing.T) {
	sch := compileInline(t, `{"format": "cn-resident-id"}`)
	err := sch.Validate("431302198506159912")
	want := "'431302198506159912' is not valid cn-resident-id: check character should be 3, got 2"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want %q", err, want)
	}
}
