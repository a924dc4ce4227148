package cryptosuite

import (
	"bytes"
	"crypto/cipher"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm4"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bigHex(t *testing.T, s string) *big.Int {
	t.Helper()
	return new(big.Int).SetBytes(unhex(t, s))
}

// TestSM3Vectors: the examples of GB/T 32905-2016, Annex A, through the
// suite's hash.
func TestSM3Vectors(t *testing.T) {
	sm := Must(SM)
	cases := []struct{ msg, digest string }{
		{"abc", "66c7f0f4 62eeedd9 d1f2d46b dc10e4e2 4167c487 5cf2f7a2 297da02b 8f4ba8e0"},
		{strings.Repeat("abcd", 16), "debe9ff9 2275b8a1 38604889 c18e5a4d 6fdb70e5 387e5765 293dcba3 9c0c5732"},
	}
	for _, tc := range cases {
		got := sm.Sum([]byte(tc.msg))
		if !bytes.Equal(got[:], unhex(t, tc.digest)) {
			t.Errorf("SM3(%q) = %x, want %s", tc.msg, got, tc.digest)
		}
	}
}

// TestSM4Vectors: GB/T 32907-2016, Annex A: one block, and the same block
// encrypted 1,000,000 times, through the block cipher under the suite's AEAD.
func TestSM4Vectors(t *testing.T) {
	key := unhex(t, "0123456789abcdeffedcba9876543210")
	block, err := sm4Block(key)
	if err != nil {
		t.Fatal(err)
	}
	buf := bytes.Clone(key) // the plaintext equals the key in the example
	block.Encrypt(buf, buf)
	if want := unhex(t, "681edf34d206965e86b3e94f536e4246"); !bytes.Equal(buf, want) {
		t.Fatalf("SM4 one block = %x, want %x", buf, want)
	}
	if testing.Short() {
		return
	}
	buf = bytes.Clone(key)
	for range 1_000_000 {
		block.Encrypt(buf, buf)
	}
	if want := unhex(t, "595298c7c6fd271f0402f804c33d3f66"); !bytes.Equal(buf, want) {
		t.Fatalf("SM4 1,000,000 times = %x, want %x", buf, want)
	}
}

// TestSM2SignatureVector: the signature example on the recommended curve
// (GB/T 32918.2's procedure with the standard's example key dA, identifier
// "1234567812345678", message "message digest"): the published (r, s)
// verifies, and a changed message or signature does not.
func TestSM2SignatureVector(t *testing.T) {
	x := bigHex(t, "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020")
	y := bigHex(t, "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13")
	r := bigHex(t, "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3")
	s := bigHex(t, "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA")
	uid := []byte("1234567812345678")
	ok, err := VerifySM2(x, y, r, s, uid, []byte("message digest"))
	if err != nil || !ok {
		t.Fatalf("the standard's signature does not verify: %v", err)
	}
	if ok, _ := VerifySM2(x, y, r, s, uid, []byte("message digesT")); ok {
		t.Fatal("a changed message verifies")
	}
	if ok, _ := VerifySM2(x, y, r, new(big.Int).Add(s, big.NewInt(1)), uid, []byte("message digest")); ok {
		t.Fatal("a changed signature verifies")
	}
	// The example's private key gives the example's public key through the
	// suite's own key handling.
	priv := bigHex(t, "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
	pub, err := sm2PublicFromScalar(priv)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte{4}, append(x.FillBytes(make([]byte, 32)), y.FillBytes(make([]byte, 32))...)...)
	if !bytes.Equal(pub, want) {
		t.Fatalf("public key of dA = %x, want %x", pub, want)
	}
}

func TestSuitesSignVerifyAndSeal(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, 32)
	for _, name := range Names() {
		t.Run(string(name), func(t *testing.T) {
			s := Must(name)
			k, err := s.SigningKey(seed)
			if err != nil {
				t.Fatal(err)
			}
			k2, _ := s.SigningKey(seed)
			if !bytes.Equal(k.PublicKey(), k2.PublicKey()) {
				t.Fatal("the same seed gives different keys")
			}
			sig, err := k.Sign([]byte("checkpoint"))
			if err != nil {
				t.Fatal(err)
			}
			v, err := s.Verifier(k.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			if !v.Verify([]byte("checkpoint"), sig) || v.Verify([]byte("checkpoinT"), sig) {
				t.Fatal("signature check wrong")
			}
			other := Must(Default)
			if name == Default {
				other = Must(SM)
			}
			if _, err := other.Verifier(k.PublicKey()); err == nil {
				if ov, _ := other.Verifier(k.PublicKey()); ov.Verify([]byte("checkpoint"), sig) {
					t.Fatal("the other suite accepts this suite's signature")
				}
			}
			key := bytes.Repeat([]byte{1}, s.CipherKeySize())
			aead, err := s.AEAD(key)
			if err != nil {
				t.Fatal(err)
			}
			nonce := make([]byte, aead.NonceSize())
			ct := aead.Seal(nil, nonce, []byte("430102199001011234"), []byte("ad"))
			if bytes.Contains(ct, []byte("430102199001011234")) {
				t.Fatal("ciphertext holds the plaintext")
			}
			pt, err := aead.Open(nil, nonce, ct, []byte("ad"))
			if err != nil || string(pt) != "430102199001011234" {
				t.Fatalf("open: %v %q", err, pt)
			}
			if _, err := aead.Open(nil, nonce, ct, []byte("other")); err == nil {
				t.Fatal("wrong associated data opens")
			}
			if _, err := s.AEAD(key[:5]); err == nil {
				t.Fatal("a short key is accepted")
			}
		})
	}
	if _, err := Get("rot13"); err == nil {
		t.Fatal("unknown suite accepted")
	}
}

func sm4Block(key []byte) (cipher.Block, error) { return sm4.NewCipher(key) }

func sm2PublicFromScalar(d *big.Int) ([]byte, error) {
	priv, err := sm2.NewPrivateKeyFromInt(d)
	if err != nil {
		return nil, err
	}
	return marshalSM2(&priv.PublicKey), nil
}

func TestSigningKeyFiles(t *testing.T) {
	for _, name := range Names() {
		s := Must(name)
		k, pemBytes, err := s.GenerateSigningKey()
		if err != nil {
			t.Fatal(err)
		}
		back, err := s.ParseSigningKey(pemBytes)
		if err != nil {
			t.Fatalf("%s: parse own key: %v", name, err)
		}
		if !bytes.Equal(back.PublicKey(), k.PublicKey()) {
			t.Fatalf("%s: key changed through PEM", name)
		}
		other := Must(Default)
		if name == Default {
			other = Must(SM)
		}
		if _, err := other.ParseSigningKey(pemBytes); err == nil {
			t.Fatalf("the %s suite accepts a %s key", other.Name(), name)
		}
	}
	if _, err := Must(Default).ParseSigningKey([]byte("not pem")); err == nil {
		t.Fatal("garbage accepted")
	}
}
