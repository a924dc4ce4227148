package schemas

import (
	"errors"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func mustUnmarshal(tb testing.TB, s string) any {
	tb.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(s))
	if err != nil {
		tb.Fatalf("unmarshal %s: %v", s, err)
	}
	return v
}

func TestViolations(t *testing.T) {
	if Violations(nil) != nil || Violations(errors.New("other")) != nil {
		t.Error("non-validation errors must give nil")
	}
	sch := compileInline(t, `{"type": "object", "properties": {"a/b~c": {"type": "array", "items": {"format": "cn-resident-id"}}}}`)
	err := sch.Validate(mustUnmarshal(t, `{"a/b~c": ["431302198506159913", "431302198506159912"]}`))
	vs := Violations(err)
	if len(vs) != 1 {
		t.Fatalf("violations %+v", vs)
	}
	v := vs[0]
	if v.Pointer != "/a~1b~0c/1" || v.Keyword != "format" || v.Message != "not a valid cn-resident-id: check character should be 3, got 2" {
		t.Errorf("violation %+v", v)
	}
	if strings.Contains(v.Message, "431302198506159912") {
		t.Error("format message repeats the identifier")
	}
}
