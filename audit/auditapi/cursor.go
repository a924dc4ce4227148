package auditapi

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"

	"yiku/audit/store"
	"yiku/fault"
)

// A cursor is the last event's key of a page of GET /audit/events, opaque to
// clients: base64url (no padding) of "1.<at µs>.<seq>.<chain>". The leading
// version lets the form change without misreading old cursors; the chain id
// comes last so that it may hold any character.
const cursorVersion = "1"

// maxCursor bounds what parseCursor decodes; chain ids are UUIDs.
const maxCursor = 512

func encodeCursor(k store.Key) string {
	s := cursorVersion + "." + strconv.FormatInt(k.AtMicros, 10) + "." + strconv.FormatInt(k.Seq, 10) + "." + k.Chain
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func parseCursor(s string) (store.Key, error) {
	bad := func(reason string) (store.Key, error) {
		return store.Key{}, fault.Invalidf("invalid_cursor", "cursor is not one this hub issued; pass next_cursor from a previous page unchanged").
			WithDetails(fault.Detail{Field: "cursor", Reason: reason})
	}
	if len(s) > maxCursor {
		return bad("too long")
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return bad("not base64url")
	}
	parts := strings.SplitN(string(raw), ".", 4)
	if len(parts) != 4 || parts[0] != cursorVersion {
		return bad("unknown form")
	}
	at, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return bad("bad time")
	}
	seq, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || seq < 1 {
		return bad("bad sequence number")
	}
	chain := parts[3]
	if chain == "" || !utf8.ValidString(chain) || strings.ContainsRune(chain, 0) {
		return bad("bad chain")
	}
	return store.Key{AtMicros: at, Chain: chain, Seq: seq}, nil
}
