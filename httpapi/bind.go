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

	"github.com/gin-gonic/gin"

	"yiku/fault"
)

// BindJSON decodes the request body into v strictly: the content type must
// be JSON, unknown fields are rejected, and trailing data is an error.
func BindJSON(c *gin.Context, v any) error {
	if err := RequireJSON(c); err != nil {
		return err
	}
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return fault.Invalidf("invalid_json", "request body has data after the JSON value")
	}
	if _, err := io.Copy(io.Discard, c.Request.Body); err != nil {
		return decodeError(err)
	}
	return nil
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
		if err != nil || n < 0 {
			return p, fault.Invalidf("invalid_query", "offset must be a whole number >= 0").WithDetails(fault.Detail{Field: "offset", Reason: "out of range"})
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
