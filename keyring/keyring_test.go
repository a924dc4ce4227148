package keyring_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"yiku/cryptosuite"
	"yiku/keyring"
)

func seal(t *testing.T, dk keyring.DataKey, plain, aad []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := keyring.NewWriter(&buf, dk, aad)
	if err != nil {
		t.Fatal(err)
	}
	// Odd write sizes cross segment boundaries.
	for p := plain; len(p) > 0; {
		n := min(len(p), 10007)
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func open(dk keyring.DataKey, ct, aad []byte) ([]byte, error) {
	r, err := keyring.NewReader(bytes.NewReader(ct), dk, aad)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestStreamRoundTrip(t *testing.T) {
	for _, name := range cryptosuite.Names() {
		ring := keyring.NewForTest(cryptosuite.Must(name))
		for _, size := range []int{0, 1, keyring.SegmentSize - 1, keyring.SegmentSize, keyring.SegmentSize + 1, 3*keyring.SegmentSize + 17} {
			plain := make([]byte, size)
			rand.Read(plain)
			dk, wrapped, err := ring.NewDataKey()
			if err != nil {
				t.Fatal(err)
			}
			ct := seal(t, dk, plain, []byte("sha256:abc"))
			if size >= 16 && bytes.Contains(ct, plain[:16]) {
				t.Fatalf("%s/%d: ciphertext holds plaintext", name, size)
			}
			dk2, err := ring.Unwrap(wrapped)
			if err != nil {
				t.Fatal(err)
			}
			got, err := open(dk2, ct, []byte("sha256:abc"))
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("%s/%d: round trip: %v (got %d bytes)", name, size, err, len(got))
			}
		}
	}
}

func TestStreamRefusesTampering(t *testing.T) {
	ring := keyring.NewForTest(cryptosuite.Must(cryptosuite.Default))
	dk, _, _ := ring.NewDataKey()
	plain := bytes.Repeat([]byte("户口簿"), keyring.SegmentSize) // several segments
	ct := seal(t, dk, plain, []byte("ctx"))
	seg := keyring.SegmentSize + 16
	other, _, _ := ring.NewDataKey()
	cases := map[string]func() ([]byte, error){
		"flipped byte": func() ([]byte, error) {
			c := bytes.Clone(ct)
			c[len(c)/2] ^= 1
			return open(dk, c, []byte("ctx"))
		},
		"truncated at a segment boundary": func() ([]byte, error) { return open(dk, ct[:11+seg], []byte("ctx")) },
		"truncated mid segment":           func() ([]byte, error) { return open(dk, ct[:len(ct)-5], []byte("ctx")) },
		"segments swapped": func() ([]byte, error) {
			c := bytes.Clone(ct)
			copy(c[11:11+seg], ct[11+seg:11+2*seg])
			copy(c[11+seg:11+2*seg], ct[11:11+seg])
			return open(dk, c, []byte("ctx"))
		},
		"other context":  func() ([]byte, error) { return open(dk, ct, []byte("other")) },
		"other data key": func() ([]byte, error) { return open(other, ct, []byte("ctx")) },
		"appended": func() ([]byte, error) {
			return open(dk, append(bytes.Clone(ct), ct[11:11+seg]...), []byte("ctx"))
		},
	}
	for name, f := range cases {
		if _, err := f(); !errors.Is(err, keyring.ErrStream) {
			t.Errorf("%s: err = %v, want ErrStream", name, err)
		}
	}
}

func TestKeyFileInitRotateUnwrap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	if _, err := keyring.Init(path, cryptosuite.Default); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.Init(path, cryptosuite.Default); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Fatalf("second init: %v", err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o", fi.Mode().Perm())
	}
	r1, err := keyring.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dk, wrapped, err := r1.NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	ct := seal(t, dk, []byte("430103199001011234"), nil)

	if _, err := keyring.Rotate(path, cryptosuite.SM); err != nil {
		t.Fatal(err)
	}
	r2, err := keyring.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	st := r2.Status()
	if len(st) != 2 || st[0].ID != "k2" || !st[0].Newest || st[0].Suite != cryptosuite.SM || st[1].ID != "k1" || st[1].Suite != cryptosuite.Default {
		t.Fatalf("status = %+v", st)
	}
	// What k1 wrapped stays readable after rotation, and rewrapping keeps
	// the data key (its suite's newest KEK wraps it).
	re, err := r2.Rewrap(wrapped)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range [][]byte{wrapped, re} {
		dk2, err := r2.Unwrap(w)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := open(dk2, ct, nil); err != nil || string(got) != "430103199001011234" {
			t.Fatalf("after rotation: %q %v", got, err)
		}
	}
	// New data keys come from the newest KEK and its suite.
	dk3, w3, _ := r2.NewDataKey()
	if id, _ := keyring.KEKOf(w3); id != "k2" || dk3.Suite() != cryptosuite.SM {
		t.Fatalf("newest: %s %s", id, dk3.Suite())
	}
	// Another key file cannot unwrap, and altered wrapped keys fail.
	other := keyring.NewForTest(cryptosuite.Must(cryptosuite.Default))
	if _, err := other.Unwrap(wrapped); !errors.Is(err, keyring.ErrUnwrap) {
		t.Fatalf("foreign ring: %v", err)
	}
	bad := bytes.Clone(wrapped)
	bad[len(bad)-1] ^= 1
	if _, err := r2.Unwrap(bad); !errors.Is(err, keyring.ErrUnwrap) {
		t.Fatalf("altered: %v", err)
	}
	if _, err := r2.Unwrap([]byte("garbage")); !errors.Is(err, keyring.ErrUnwrap) {
		t.Fatalf("garbage: %v", err)
	}
}

func TestLoadRefusesReadableKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	if _, err := keyring.Init(path, cryptosuite.Default); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.Load(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key file: %v", err)
	}
}

func FuzzStreamReader(f *testing.F) {
	ring := keyring.NewForTest(cryptosuite.Must(cryptosuite.Default))
	dk, _, _ := ring.NewDataKey()
	var buf bytes.Buffer
	w, _ := keyring.NewWriter(&buf, dk, nil)
	w.Write([]byte("material"))
	w.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("YKS1"))
	f.Fuzz(func(t *testing.T, ct []byte) {
		r, err := keyring.NewReader(bytes.NewReader(ct), dk, nil)
		if err != nil {
			return
		}
		got, err := io.ReadAll(r)
		if err == nil && !bytes.Equal(ct, buf.Bytes()) && len(got) > 0 {
			t.Fatalf("forged stream opened: %q", got)
		}
	})
}
