package auditapi

import (
	"encoding/base64"
	"errors"
	"testing"

	"yiku/audit/store"
	"yiku/fault"
)

func TestCursorRoundTrips(t *testing.T) {
	for _, k := range []store.Key{
		{AtMicros: 1735689600000000, Chain: "0194a3b2-7c1e-7d2f-8a3b-4c5d6e7f8091", Seq: 1},
		{AtMicros: 0, Chain: "a.b.c", Seq: 1 << 62},
		{AtMicros: -1, Chain: "链", Seq: 7},
	} {
		got, err := parseCursor(encodeCursor(k))
		if err != nil || got != k {
			t.Errorf("%+v: got %+v, %v", k, got, err)
		}
	}
}

// FuzzParseCursor: any input either parses to a key that encodes back to a
// cursor naming the same key, or is refused as invalid_cursor; it never
// panics.
func FuzzParseCursor(f *testing.F) {
	f.Add(encodeCursor(store.Key{AtMicros: 1735689600000000, Chain: "0194a3b2-7c1e-7d2f-8a3b-4c5d6e7f8091", Seq: 42}))
	f.Add(base64.RawURLEncoding.EncodeToString([]byte("1.-5.3.x")))
	f.Add(base64.RawURLEncoding.EncodeToString([]byte("1.5.0.x")))
	f.Add("")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := parseCursor(s)
		if err != nil {
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Code != "invalid_cursor" {
				t.Fatalf("%q: error %v is not invalid_cursor", s, err)
			}
			return
		}
		if k.Seq < 1 || k.Chain == "" {
			t.Fatalf("%q: parsed to %+v", s, k)
		}
		again, err := parseCursor(encodeCursor(k))
		if err != nil || again != k {
			t.Fatalf("%q: %+v re-encodes to %+v, %v", s, k, again, err)
		}
	})
}
