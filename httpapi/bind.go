package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"yiku/fault"
	"yiku/inputtext"
)

// BindJSON decodes the request body into v strictly: the content type must
// be JSON, unknown fields are rejected, trailing data is an error, and so is
// a string that is not valid UTF-8 (which encoding/json would silently
// store as U+FFFD).
func BindJSON(c *gin.Context, v any) error {
	if err := RequireJSON(c); err != nil {
		return err
	}
	body, err := ReadBody(c)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return fault.Invalidf("invalid_json", "request body has data after the JSON value")
	}
	if ptr, bad := inputtext.InvalidUTF8(body); bad {
		return InvalidUTF8(ptr, nil)
	}
	return nil
}

// InvalidUTF8 is the error for a JSON string at pointer (in record, when
// not nil) that is not valid UTF-8.
func InvalidUTF8(pointer string, record *int) error {
	where := "field " + pointer
	switch {
	case pointer == "" && record != nil:
		where = "a string"
	case pointer == "":
		where = "the body"
	}
	msg := where + " is not valid UTF-8 (or holds a lone surrogate escape)"
	if record != nil {
		msg = fmt.Sprintf("record %d: %s", *record, msg)
	}
	field := strings.TrimPrefix(pointer, "/")
	if record != nil || strings.Contains(field, "/") {
		field = "" // the pointer says where
	}
	return fault.Invalidf("invalid_utf8", "%s", msg).
		WithDetails(fault.Detail{Record: record, Pointer: pointer, Field: field, Rule: "utf8", Reason: "not valid UTF-8"})
}

// RequireJSON checks the request declares a JSON body.
func RequireJSON(c *gin.Context) error {
	ct := c.GetHeader("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && mt != "application/x-ndjson") {
		return fault.New(fault.Invalid, "unsupported_media_type", "Content-Type must be application/json, got %q", ct)
	}
	return nil
}

func decodeError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fault.New(fault.TooLarge, "body_too_large", "request body exceeds the limit of %d bytes", mbe.Limit)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fault.Invalidf("invalid_json", "malformed JSON at byte %d: %v", se.Offset, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fault.Invalidf("invalid_json", "field %q: expected %s, got %s", te.Field, te.Type, te.Value).
			WithDetails(fault.Detail{Field: te.Field, Reason: fmt.Sprintf("expected %s", te.Type)})
	}
	if errors.Is(err, io.EOF) {
		return fault.Invalidf("invalid_json", "request body is empty")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fault.Invalidf("invalid_json", "request body ends in the middle of a JSON value")
	}
	return fault.Invalidf("invalid_json", "invalid request body: %v", err)
}

// Page is pagination read from ?limit=&offset=.
type Page struct {
	Limit  int
	Offset int
}

// MaxOffset caps ?offset=: a deeper page costs the database a scan of
// everything before it. Lists that grow past it page by cursor.
const MaxOffset = 1_000_000

// PageOf reads limit (default def, at most max) and offset from the query.
func PageOf(c *gin.Context, def, max int) (Page, error) {
	p := Page{Limit: def}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > max {
			return p, fault.Invalidf("invalid_query", "limit must be a whole number from 1 to %d", max).WithDetails(fault.Detail{Field: "limit", Reason: "out of range"})
		}
		p.Limit = n
	}
	if s := c.Query("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > MaxOffset {
			return p, fault.Invalidf("invalid_query", "offset must be a whole number from 0 to %d", MaxOffset).WithDetails(fault.Detail{Field: "offset", Reason: "out of range"})
		}
		p.Offset = n
	}
	return p, nil
}

// ReadBody returns the whole request body (bounded by the body limit).
func ReadBody(c *gin.Context) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, c.Request.Body); err != nil {
		return nil, decodeError(err)
	}
	return buf.Bytes(), nil
}
