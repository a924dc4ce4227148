package exchange

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"yiku/catalog"
	"yiku/schemas"
)

// TestCheckRefusesInvalidUTF8: a record whose string is not valid UTF-8 (or
// an escaped lone surrogate) is rejected with its index, pointer and rule
// utf8, whichever path (HTTP or the Kafka ingress) brought it; encoding/json
// would otherwise have stored it with U+FFFD.
func TestCheckRefusesInvalidUTF8(t *testing.T) {
	sch, err := schemas.CompileBase("population")
	if err != nil {
		t.Fatal(err)
	}
	env := Envelope{Resource: catalog.Resource{ID: "population", SubjectKey: "id_number"}, ID: "population", Validator: baseValidator{sch}, Publisher: "lx-psb", Now: time.Now()}
	raws := benchBatch(t, 4)
	raws[1] = bytes.Replace(raws[1], []byte("王芳"), []byte("张\xff"), 1)
	raws[3] = bytes.Replace(raws[3], []byte("王芳"), []byte(`\ud800三`), 1)
	c := Check(env, raws)
	if len(c.Accepted) != 2 || len(c.Rejected) != 2 {
		t.Fatalf("accepted %d, rejected %+v", len(c.Accepted), c.Rejected)
	}
	for i, rej := range c.Rejected {
		if rej.Index != 2*i+1 || rej.Pointer != "/name" || rej.Rule != "utf8" {
			t.Fatalf("rejection %+v, want record %d /name utf8", rej, 2*i+1)
		}
	}
}

// TestCheckRefusesPseudonymSubjects: a subject key that begins like the
// hub's subject pseudonyms is refused (rule subject_key), so that every
// key with the prefix in Kafka and the library is one the hub made.
func TestCheckRefusesPseudonymSubjects(t *testing.T) {
	env := Envelope{Resource: catalog.Resource{ID: "licences", SubjectKey: "holder"}, ID: "licences", Validator: anyValidator{}, Publisher: "lx-mr", Now: time.Now()}
	c := Check(env, []json.RawMessage{json.RawMessage(`{"holder":"ykp1.1.default.AAAA"}`), json.RawMessage(`{"holder":"91430100MA4L0XXXXX"}`), json.RawMessage(`{"holder":"ykp1."}`)})
	if len(c.Accepted) != 1 || c.Accepted[0].SubjectKey != "91430100MA4L0XXXXX" || len(c.Rejected) != 2 {
		t.Fatalf("accepted %+v, rejected %+v", c.Accepted, c.Rejected)
	}
	for i, rej := range c.Rejected {
		if rej.Index != 2*i || rej.Pointer != "/holder" || rej.Rule != "subject_key" {
			t.Fatalf("rejection %+v, want record %d /holder subject_key", rej, 2*i)
		}
	}
}

// anyValidator accepts every record (the schema is not under test).
type anyValidator struct{}

func (anyValidator) Validate([]byte) []catalog.Violation { return nil }
func (anyValidator) Version() int                        { return 1 }
