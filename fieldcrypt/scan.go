package fieldcrypt

import (
	"encoding/json"
	"errors"
)

// errNotObject is returned for a record that is not one compact JSON object.
var errNotObject = errors.New("fieldcrypt: record is not a JSON object")

// member is one top-level member of a record: its name and the span of its
// value.
type member struct {
	Name       string
	Start, End int // data[Start:End] is the value's JSON text
}

// members lists the top-level members of a JSON object in document order,
// without decoding their values. Records are canonical JSON (package
// exchange), so the values' bytes are kept exactly; white space between
// tokens is allowed all the same.
func members(data []byte) ([]member, error) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, errNotObject
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		if skipSpace(data, i+1) != len(data) {
			return nil, errNotObject
		}
		return nil, nil
	}
	var out []member
	for {
		if i >= len(data) || data[i] != '"' {
			return nil, errNotObject
		}
		end, err := skipString(data, i)
		if err != nil {
			return nil, err
		}
		name, err := stringText(data[i:end])
		if err != nil {
			return nil, err
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return nil, errNotObject
		}
		start := skipSpace(data, i+1)
		stop, err := skipValue(data, start)
		if err != nil {
			return nil, err
		}
		out = append(out, member{Name: name, Start: start, End: stop})
		i = skipSpace(data, stop)
		if i >= len(data) {
			return nil, errNotObject
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			if skipSpace(data, i+1) != len(data) {
				return nil, errNotObject
			}
			return out, nil
		default:
			return nil, errNotObject
		}
	}
}

// stringText is the text of a JSON string token (quotes included in raw).
func stringText(raw []byte) (string, error) {
	for _, c := range raw[1 : len(raw)-1] {
		if c == '\\' {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", errNotObject
			}
			return s, nil
		}
	}
	return string(raw[1 : len(raw)-1]), nil
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the JSON string starting at data[i].
func skipString(data []byte, i int) (int, error) {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errNotObject
}

// skipValue returns the index after the JSON value starting at data[i].
// It finds the value's end; json.Valid over the whole record is the
// caller's (the exchange validated every record it seals).
func skipValue(data []byte, i int) (int, error) {
	if i >= len(data) {
		return 0, errNotObject
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				end, err := skipString(data, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errNotObject
	default:
		j := i
		for j < len(data) {
			switch data[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				if j == i {
					return 0, errNotObject
				}
				return j, nil
			}
			j++
		}
		return 0, errNotObject
	}
}
