package exchange

import (
	"bytes"
	"encoding/json"
	"fmt"

	"yiku/fault"
)

// Batch formats a publish request may use.
const (
	FormatJSON   = "application/json"     // one JSON array of record objects
	FormatNDJSON = "application/x-ndjson" // one record object per line
)

// ParseBatch splits a publish body into its raw records without decoding
// them. Malformed framing is an Invalid fault naming the record; more than
// max records is a TooLarge fault. Blank NDJSON lines are skipped.
func ParseBatch(body []byte, format string, max int) ([]json.RawMessage, error) {
	var recs []json.RawMessage
	switch format {
	case FormatNDJSON:
		for line := 0; len(body) > 0; line++ {
			var l []byte
			if i := bytes.IndexByte(body, '\n'); i >= 0 {
				l, body = body[:i], body[i+1:]
			} else {
				l, body = body, nil
			}
			l = bytes.TrimSpace(l)
			if len(l) == 0 {
				continue
			}
			if len(recs) == max {
				return nil, tooMany(max)
			}
			if !json.Valid(l) {
				return nil, fault.Invalidf("invalid_json", "line %d is not valid JSON", line+1).
					WithDetails(fault.Detail{Record: fault.Index(len(recs)), Reason: "not valid JSON"})
			}
			recs = append(recs, json.RawMessage(l))
		}
	case FormatJSON:
		dec := json.NewDecoder(bytes.NewReader(body))
		tok, err := dec.Token()
		if err != nil {
			return nil, fault.Invalidf("invalid_json", "request body is not a JSON array: %v", err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return nil, fault.Invalidf("invalid_json", "request body must be a JSON array of records")
		}
		for dec.More() {
			if len(recs) == max {
				return nil, tooMany(max)
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, fault.Invalidf("invalid_json", "record %d is not valid JSON: %v", len(recs), err).
					WithDetails(fault.Detail{Record: fault.Index(len(recs)), Reason: "not valid JSON"})
			}
			recs = append(recs, raw)
		}
		if _, err := dec.Token(); err != nil {
			return nil, fault.Invalidf("invalid_json", "request body: unterminated array: %v", err)
		}
		if _, err := dec.Token(); err == nil {
			return nil, fault.Invalidf("invalid_json", "request body has data after the JSON array")
		}
	default:
		return nil, fault.Invalidf("unsupported_media_type", "publish accepts %s or %s, got %q", FormatJSON, FormatNDJSON, format)
	}
	if len(recs) == 0 {
		return nil, fault.Invalidf("empty_batch", "the batch holds no records")
	}
	return recs, nil
}

func tooMany(max int) error {
	return fault.New(fault.TooLarge, "batch_too_large", "a batch may hold at most %d records", max).
		WithDetails(fault.Detail{Reason: fmt.Sprintf("more than %d records", max)})
}
