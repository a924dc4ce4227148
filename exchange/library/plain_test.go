package library_test

import (
	"context"
	"errors"
	"testing"

	"yiku/exchange/library"
	"yiku/fault"
	"yiku/storage/storagetest"
)

// TestPlainWithoutKeysIsUnavailable: a hub started without the data key
// file its records were sealed under answers 503 record_keys_missing (an
// operator's mistake, said as such) instead of failing as an internal
// error; a record in clear reads as it is.
func TestPlainWithoutKeysIsUnavailable(t *testing.T) {
	st := library.NewStore(storagetest.Open(t))
	sealed := `{"id_number":"ykf1.1.default.AAAA","name":"王芳"}`
	_, err := st.Plain(context.Background(), library.Row{ResourceID: "population", Data: &sealed})
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Kind != fault.Unavailable || fe.Code != "record_keys_missing" {
		t.Fatalf("Plain of a sealed record without keys: %v, want Unavailable record_keys_missing", err)
	}
	clear := `{"id_number":"431302198506159913"}`
	got, err := st.Plain(context.Background(), library.Row{ResourceID: "population", Data: &clear})
	if err != nil || string(got) != clear {
		t.Fatalf("Plain of a clear record: %s, %v", got, err)
	}
}
