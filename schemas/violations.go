package schemas

import (
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Violation is one reason a record failed its schema, at a JSON pointer
// into the record.
type Violation struct {
	Pointer string // RFC 6901 pointer to the failing value; "" is the record
	Keyword string // the failing schema keyword, e.g. "format", "required"
	Message string
}

// Violations flattens a *jsonschema.ValidationError into its leaf causes,
// in the library's order. Format violations do not repeat the value, so an
// identifier does not end up in logs twice; other messages are the
// library's. It returns nil if err holds no validation error.
func Violations(err error) []Violation {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	p := message.NewPrinter(language.English)
	var out []Violation
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		v := Violation{Pointer: pointer(e.InstanceLocation)}
		if path := e.ErrorKind.KeywordPath(); len(path) > 0 {
			v.Keyword = path[0]
		}
		if f, ok := e.ErrorKind.(*kind.Format); ok {
			v.Message = fmt.Sprintf("not a valid %s: %v", f.Want, f.Err)
		} else {
			v.Message = e.ErrorKind.LocalizedString(p)
		}
		out = append(out, v)
	}
	walk(ve)
	return out
}

func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(pointerEscaper.Replace(t))
	}
	return b.String()
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")
