package exchange

import (
	"bytes"
	"encoding/json"
	"testing"
)

// encodingJSON is the canonical form as first defined: encoding/json's
// Encoder without HTML escaping. Record ids already stored are hashes of it.
func encodingJSON(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

func TestAppendCanonicalMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{"b":1,"a":[true,false,null,"x"],"c":{"z":1.50,"y":-0,"x":1e400}}`,
		`{"s":"<>&\u2028\u2029\b\f\n\r\t\u0001\u001f\"\\/é中文😀"}`,
		"{\"bad\":\"\xff\xfe ok\"}",
		`{"":"","nested":[[[]],{}],"n":12345678901234567890}`,
	} {
		v, err := decodeValue([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		got, err := AppendCanonical(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		if want := encodingJSON(t, v); !bytes.Equal(got, want) {
			t.Errorf("canonical of %s:\n got %s\nwant %s", in, got, want)
		}
	}
}

// FuzzAppendCanonicalMatchesEncodingJSON: for any JSON a department sends,
// the canonical form (and hence the record id) is byte for byte what
// encoding/json writes.
func FuzzAppendCanonicalMatchesEncodingJSON(f *testing.F) {
	f.Add([]byte(`{"id_number":"431302199001010010","name":"张三","n":1.50,"h":"<b>&"}`))
	f.Add([]byte(`{"a":[1,{"b":null}],"c":"\u2028\t"}`))
	f.Add([]byte("{\"x\":\"\xc3\x28\"}"))
	f.Add([]byte(`[1,"2",{"3":4}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, err := decodeValue(raw)
		if err != nil {
			return
		}
		got, err := AppendCanonical(nil, v)
		if err != nil {
			t.Fatalf("canonical of %q: %v", raw, err)
		}
		if want := encodingJSON(t, v); !bytes.Equal(got, want) {
			t.Fatalf("canonical of %q:\n got %q\nwant %q", raw, got, want)
		}
	})
}
