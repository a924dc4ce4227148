package exchange

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"yiku/jsontext"
)

// decodeValue decodes one JSON value the way the catalog's validator does
// (encoding/json with UseNumber, nothing after the value), so the publish
// path decodes a record once and both validates and canonicalises that.
func decodeValue(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the record")
	}
	return v, nil
}

// AppendCanonical appends the canonical JSON of a decoded record to dst:
// byte for byte what encoding/json's Encoder writes with SetEscapeHTML(false)
// (map keys sorted, json.Number as written, the same string escapes), without
// its reflection. Record ids are hashes of this form, so it must not change;
// FuzzAppendCanonicalMatchesEncodingJSON holds it to encoding/json.
func AppendCanonical(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		if x {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case string:
		return jsontext.AppendString(dst, x), nil
	case json.Number:
		if x == "" {
			return append(dst, '0'), nil
		}
		if !json.Valid([]byte(x)) || strings.ContainsAny(string(x), " \t\r\n\"[{") {
			return nil, fmt.Errorf("exchange: canonical: invalid number %q", string(x))
		}
		return append(dst, x...), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = AppendCanonical(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsontext.AppendString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, err = AppendCanonical(dst, x[k]); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	default:
		// Not produced by decodeValue; encoding/json decides.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return nil, fmt.Errorf("exchange: canonical: %w", err)
		}
		return append(dst, bytes.TrimRight(buf.Bytes(), "\n")...), nil
	}
}
