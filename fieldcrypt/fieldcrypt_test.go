package fieldcrypt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"yiku/cryptosuite"
	"yiku/fieldcrypt"
	"yiku/fieldcrypt/sqlstore"
	"yiku/keyring"
	"yiku/storage/storagetest"
)

func newCipher(t testing.TB, suite cryptosuite.Name) (*fieldcrypt.Cipher, *sqlstore.Store) {
	t.Helper()
	st := sqlstore.New(storagetest.Open(t).Gorm)
	return fieldcrypt.New(keyring.NewForTest(cryptosuite.Must(suite)), st), st
}

// keyFile makes a key file of the default suite and a store, and returns
// them with load, which reads the key file as it is now (as a hub start
// does) into a cipher over the store.
func keyFile(t *testing.T) (string, *sqlstore.Store, func() *fieldcrypt.Cipher) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data-keys.json")
	if _, err := keyring.Init(path, cryptosuite.Default); err != nil {
		t.Fatal(err)
	}
	st := sqlstore.New(storagetest.Open(t).Gorm)
	return path, st, func() *fieldcrypt.Cipher {
		r, err := keyring.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		return fieldcrypt.New(r, st)
	}
}

// TestSealOpen: each sensitive field's value, whatever its JSON type, is
// replaced by a sealed string holding none of it, the other fields keep
// their bytes, and opening gives back the canonical record byte for byte.
func TestSealOpen(t *testing.T) {
	ctx := context.Background()
	sensitive := []string{"id_number", "name", "mobile", "address", "tags", "score", "none", "esc\"aped"}
	cases := []struct {
		name, record string
		sealed       []string // fields expected sealed
	}{
		{"strings", `{"domicile_division":"431302001","id_number":"11010519491231002X","mobile":"13800138000","name":"张三"}`, []string{"id_number", "mobile", "name"}},
		{"number bool null", `{"none":null,"score":12.50,"x":true}`, []string{"none", "score"}},
		{"object and array", `{"address":{"city":"娄底","line":"乐坪大道"},"tags":["a","b"],"z":[1,{"q":"}"}]}`, []string{"address", "tags"}},
		{"escaped names", `{"esc\"aped":"v","name":"a\"b\\c\u2028"}`, []string{"esc\"aped", "name"}},
		{"no sensitive field", `{"a":"110105","b":1}`, nil},
		{"empty object", `{}`, nil},
		{"looks sealed", `{"note":"ykf1.1.default.AAAA"}`, []string{"note"}},
	}
	for _, suite := range cryptosuite.Names() {
		c, _ := newCipher(t, suite)
		for _, tc := range cases {
			t.Run(string(suite)+"/"+tc.name, func(t *testing.T) {
				out, did, err := c.Seal(ctx, "population", sensitive, []byte(tc.record))
				if err != nil {
					t.Fatal(err)
				}
				if did != (len(tc.sealed) > 0) {
					t.Fatalf("sealed = %v, want %v", did, len(tc.sealed) > 0)
				}
				var got map[string]json.RawMessage
				if err := json.Unmarshal(out, &got); err != nil {
					t.Fatalf("sealed record is not JSON: %v: %s", err, out)
				}
				var orig map[string]json.RawMessage
				_ = json.Unmarshal([]byte(tc.record), &orig)
				for k, v := range orig {
					want := slicesContains(tc.sealed, k)
					isSealed := bytes.HasPrefix(got[k], []byte(`"ykf1.`+"1."+string(suite)+"."))
					if want != isSealed {
						t.Errorf("field %q: sealed %v, want %v (%s)", k, isSealed, want, got[k])
					}
					if !want && !bytes.Equal(got[k], v) {
						t.Errorf("field %q changed: %s -> %s", k, v, got[k])
					}
				}
				for _, s := range []string{"11010519491231002X", "13800138000", "张三", "乐坪", "12.50"} {
					if strings.Contains(string(out), s) {
						t.Errorf("sealed record holds %q in clear: %s", s, out)
					}
				}
				back, err := c.Open(ctx, "population", out)
				if err != nil {
					t.Fatal(err)
				}
				if string(back) != tc.record {
					t.Fatalf("open = %s, want %s", back, tc.record)
				}
			})
		}
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestOpenRefuses: a sealed value moved to another field or resource,
// altered, truncated or under a version the resource lacks does not open.
func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	c, _ := newCipher(t, cryptosuite.Default)
	out, _, err := c.Seal(ctx, "population", []string{"id_number"}, []byte(`{"id_number":"11010519491231002X","name":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	_ = json.Unmarshal(out, &m)
	v := m["id_number"]
	// Make population's key exist for "other" too, so only the binding fails.
	if _, _, err := c.Seal(ctx, "other", []string{"id_number"}, []byte(`{"id_number":"1"}`)); err != nil {
		t.Fatal(err)
	}
	flip := []byte(v)
	flip[len(flip)-3] ^= 'A' ^ 'B'
	cases := []struct{ name, resource, record string }{
		{"other field", "population", `{"id_number":"x","name":"` + v + `"}`},
		{"other resource", "other", string(out)},
		{"altered", "population", `{"id_number":"` + string(flip) + `"}`},
		{"truncated", "population", `{"id_number":"` + v[:len(v)-4] + `"}`},
		{"unknown version", "population", `{"id_number":"` + strings.Replace(v, "ykf1.1.", "ykf1.7.", 1) + `"}`},
		{"other suite", "population", `{"id_number":"` + strings.Replace(v, ".default.", ".sm.", 1) + `"}`},
		{"not a record", "population", `["` + v + `"]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := c.Open(ctx, tc.resource, []byte(tc.record)); err == nil {
				t.Fatalf("opened %s", got)
			}
		})
	}
	if _, err := c.Open(ctx, "population", []byte(`{"id_number":"`+string(flip)+`"}`)); !errors.Is(err, fieldcrypt.ErrSealed) {
		t.Fatalf("altered value: %v, want ErrSealed", err)
	}
	// A version the resource does not have here may come (a peer's key not
	// yet handed over): not ErrSealed, so a sink holds rather than skips.
	unknown := `{"id_number":"` + strings.Replace(v, "ykf1.1.", "ykf1.7.", 1) + `"}`
	if _, err := c.Open(ctx, "population", []byte(unknown)); !errors.Is(err, fieldcrypt.ErrNoKey) || errors.Is(err, fieldcrypt.ErrSealed) {
		t.Fatalf("unknown version: %v, want ErrNoKey", err)
	}
}

// TestRotation: after `yiku keys rotate` the next start re-wraps every
// stored data key under the new key-encryption key without touching what
// they sealed, which stays readable; new data keys are wrapped by the new
// key; a rotation to the other suite gives new writes a data key of that
// suite while the older one keeps opening what it sealed.
func TestRotation(t *testing.T) {
	ctx := context.Background()
	path, st, load := keyFile(t)
	rec := []byte(`{"id_number":"11010519491231002X","name":"张三"}`)
	sens := []string{"id_number", "name"}
	c1 := load()
	old, _, err := c1.Seal(ctx, "population", sens, rec)
	if err != nil {
		t.Fatal(err)
	}
	keks := func() map[string]string {
		all, err := st.AllKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, k := range all {
			out[k.Resource+"/"+string(rune('0'+k.Version))] = k.KEK + "/" + string(k.Suite)
		}
		return out
	}
	if got := keks(); got["population/1"] != "k1/default" || len(got) != 1 {
		t.Fatalf("keys before rotation = %v", got)
	}

	if _, err := keyring.Rotate(path, cryptosuite.Default); err != nil {
		t.Fatal(err)
	}
	c2 := load()
	res, err := c2.Rewrap(ctx)
	if err != nil || res.Rewrapped != 1 || res.Current != 0 || len(res.Failed) != 0 {
		t.Fatalf("rewrap = %+v, %v", res, err)
	}
	if res, err := c2.Rewrap(ctx); err != nil || res.Rewrapped != 0 || res.Current != 1 {
		t.Fatalf("second rewrap = %+v, %v", res, err)
	}
	if got := keks(); got["population/1"] != "k2/default" {
		t.Fatalf("keys after rotation = %v", got)
	}
	if back, err := c2.Open(ctx, "population", old); err != nil || !bytes.Equal(back, rec) {
		t.Fatalf("open after rotation = %s, %v", back, err)
	}
	if _, _, err := c2.Seal(ctx, "licences", []string{"holder_id"}, []byte(`{"holder_id":"1"}`)); err != nil {
		t.Fatal(err)
	}
	if got := keks(); got["licences/1"] != "k2/default" {
		t.Fatalf("new data key = %v, want wrapped by k2", got)
	}

	// The other suite: new writes get data key version 2 of suite sm.
	if _, err := keyring.Rotate(path, cryptosuite.SM); err != nil {
		t.Fatal(err)
	}
	c3 := load()
	if _, err := c3.Rewrap(ctx); err != nil {
		t.Fatal(err)
	}
	fresh, _, err := c3.Seal(ctx, "population", sens, rec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(fresh), `"ykf1.2.sm.`) {
		t.Fatalf("sealed after the switch to sm: %s", fresh)
	}
	if got := keks(); got["population/1"] != "k2/default" || got["population/2"] != "k3/sm" {
		t.Fatalf("keys after the switch = %v", got)
	}
	for _, data := range [][]byte{old, fresh} {
		if back, err := c3.Open(ctx, "population", data); err != nil || !bytes.Equal(back, rec) {
			t.Fatalf("open %s = %s, %v", data, back, err)
		}
	}
	// A hub whose key file lost the key that wraps a data key reports it.
	r4 := keyring.NewForTest(cryptosuite.Must(cryptosuite.Default))
	res, err = fieldcrypt.New(r4, st).Rewrap(ctx)
	if err != nil || len(res.Failed) != 3 {
		t.Fatalf("rewrap with a foreign key file = %+v, %v", res, err)
	}
}

// FuzzOpen: no text put where a sealed value goes opens unless it is a
// value this cipher sealed for that field, and no record bytes make Open
// panic.
func FuzzOpen(f *testing.F) {
	ctx := context.Background()
	c, _ := newCipher(f, cryptosuite.Default)
	rec := []byte(`{"id_number":"11010519491231002X","n":1}`)
	out, _, err := c.Seal(ctx, "population", []string{"id_number"}, rec)
	if err != nil {
		f.Fatal(err)
	}
	var m map[string]string
	_ = json.Unmarshal(out, &m)
	genuine := m["id_number"]
	f.Add(genuine, out)
	f.Add("ykf1.1.default.", []byte(`{"a":"ykf1.1.sm.AAAA","b":[`))
	f.Add("ykf1.01.default.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", []byte(`{"a" : "ykf1.1.default.AAAA" }`))
	f.Fuzz(func(t *testing.T, text string, raw []byte) {
		field, err := json.Marshal(text)
		if err != nil {
			return
		}
		doc := []byte(`{"id_number":` + string(field) + `,"n":1}`)
		back, err := c.Open(ctx, "population", doc)
		switch {
		case text == genuine:
			if err != nil || !bytes.Equal(back, rec) {
				t.Fatalf("genuine value: %s, %v", back, err)
			}
		case strings.HasPrefix(text, "ykf1.") && !strings.ContainsAny(string(field), `\`):
			if err == nil {
				t.Fatalf("forged value %q opened to %s", text, back)
			}
		}
		_, _ = c.Open(ctx, "population", raw)
	})
}

// BenchmarkSealOpen: sealing and opening the four sensitive fields of one
// population record (keys cached, as in a running hub).
func BenchmarkSealOpen(b *testing.B) {
	for _, suite := range cryptosuite.Names() {
		b.Run(string(suite), func(b *testing.B) {
			ctx := context.Background()
			c, _ := newCipher(b, suite)
			rec := []byte(`{"birth_date":"1985-06-15","domicile_address":"湖南省娄底市娄星区乐坪街道东升社区12栋3单元501","domicile_division":"431302","ethnicity":"01","id_number":"431302198506159913","marital_status":"40","mobile":"13807381234","name":"张三","sex":"1"}`)
			sens := []string{"id_number", "name", "mobile", "domicile_address"}
			b.ReportAllocs()
			for b.Loop() {
				out, _, err := c.Seal(ctx, "population", sens, rec)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Open(ctx, "population", out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestInstancesShareOneKey: two hub instances (two ciphers on one key file
// and one store) sealing a resource's first records at the same time end
// up with one data key, and each opens what the other sealed.
func TestInstancesShareOneKey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data-keys.json")
	if _, err := keyring.Init(path, cryptosuite.Default); err != nil {
		t.Fatal(err)
	}
	st := sqlstore.New(storagetest.Open(t).Gorm)
	var ciphers [2]*fieldcrypt.Cipher
	for i := range ciphers {
		r, err := keyring.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		ciphers[i] = fieldcrypt.New(r, st)
	}
	rec := []byte(`{"id_number":"11010519491231002X"}`)
	sealed := make([][]byte, 8)
	errs := make(chan error, len(sealed))
	for i := range sealed {
		go func() {
			out, _, err := ciphers[i%2].Seal(ctx, "population", []string{"id_number"}, rec)
			sealed[i] = out
			errs <- err
		}()
	}
	for range sealed {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	all, err := st.AllKeys(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("data keys = %d, %v; want one", len(all), err)
	}
	for i, s := range sealed {
		if back, err := ciphers[(i+1)%2].Open(ctx, "population", s); err != nil || !bytes.Equal(back, rec) {
			t.Fatalf("open by the other instance: %s, %v", back, err)
		}
	}
}
