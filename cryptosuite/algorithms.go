package cryptosuite

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

func aesGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cryptosuite: aes: %w", err)
	}
	return cipher.NewGCM(b)
}

// sm4GCM is GCM over the SM4 block cipher: GCM is defined for any 128-bit
// block cipher, and SM4-GCM is the mode GB/T 36624 and RFC 8998 name.
func sm4GCM(key []byte) (cipher.AEAD, error) {
	b, err := sm4.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cryptosuite: sm4: %w", err)
	}
	return cipher.NewGCM(b)
}

// --- Ed25519 ---------------------------------------------------------------

type ed25519Scheme struct{}

type ed25519Key struct{ priv ed25519.PrivateKey }

func (ed25519Scheme) fromSeed(seed []byte) (Signer, error) {
	return ed25519Key{ed25519.NewKeyFromSeed(seed[:ed25519.SeedSize])}, nil
}

func (ed25519Scheme) verifier(pub []byte) (Verifier, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("cryptosuite default: public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	return ed25519Pub(bytes.Clone(pub)), nil
}

func (k ed25519Key) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(k.priv, msg), nil }
func (k ed25519Key) PublicKey() []byte               { return bytes.Clone(k.priv.Public().(ed25519.PublicKey)) }
func (k ed25519Key) Verifier() Verifier              { return ed25519Pub(k.PublicKey()) }

type ed25519Pub ed25519.PublicKey

func (p ed25519Pub) Verify(msg, sig []byte) bool {
	return ed25519.Verify(ed25519.PublicKey(p), msg, sig)
}
func (p ed25519Pub) PublicKey() []byte { return bytes.Clone(p) }

// --- SM2 with SM3 ----------------------------------------------------------

// sm2UID is the signer's distinguishing identifier in Z_A. GB/T 35276 fixes
// the default "1234567812345678" when the parties agree no other.
var sm2UID = []byte("1234567812345678")

type sm2Scheme struct{}

type sm2Key struct{ priv *sm2.PrivateKey }

// fromSeed maps the seed to a scalar in [1, n-1] by reducing
// SM3(label ‖ seed) ‖ SM3(label' ‖ seed) (512 bits, so the bias is
// negligible) modulo n-1 and adding one.
func (sm2Scheme) fromSeed(seed []byte) (Signer, error) {
	h1, h2 := sm3.New(), sm3.New()
	h1.Write([]byte("yiku sm2 key 1\x00"))
	h1.Write(seed)
	h2.Write([]byte("yiku sm2 key 2\x00"))
	h2.Write(seed)
	wide := new(big.Int).SetBytes(append(h1.Sum(nil), h2.Sum(nil)...))
	nMinus1 := new(big.Int).Sub(sm2.P256().Params().N, big.NewInt(1))
	d := wide.Mod(wide, nMinus1)
	d.Add(d, big.NewInt(1))
	priv, err := sm2.NewPrivateKeyFromInt(d)
	if err != nil {
		return nil, fmt.Errorf("cryptosuite sm: key: %w", err)
	}
	return sm2Key{priv}, nil
}

func (sm2Scheme) verifier(pub []byte) (Verifier, error) {
	pk, err := sm2.NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("cryptosuite sm: public key: %w", err)
	}
	return sm2Pub{pk}, nil
}

func (k sm2Key) Sign(msg []byte) ([]byte, error) {
	sig, err := k.priv.Sign(rand.Reader, msg, sm2.NewSM2SignerOption(true, sm2UID))
	if err != nil {
		return nil, fmt.Errorf("cryptosuite sm: sign: %w", err)
	}
	return sig, nil
}

func (k sm2Key) PublicKey() []byte  { return marshalSM2(&k.priv.PublicKey) }
func (k sm2Key) Verifier() Verifier { return sm2Pub{&k.priv.PublicKey} }

type sm2Pub struct{ pub *ecdsa.PublicKey }

func (p sm2Pub) Verify(msg, sig []byte) bool { return sm2.VerifyASN1WithSM2(p.pub, sm2UID, msg, sig) }
func (p sm2Pub) PublicKey() []byte           { return marshalSM2(p.pub) }

func marshalSM2(pub *ecdsa.PublicKey) []byte {
	out := make([]byte, 65)
	out[0] = 4
	pub.X.FillBytes(out[1:33])
	pub.Y.FillBytes(out[33:])
	return out
}

// VerifySM2 checks an SM2 signature given as (r, s) over msg by the public
// key (x, y) with the signer's identifier uid: the form in which GB/T 32918
// publishes its examples.
func VerifySM2(x, y, r, s *big.Int, uid, msg []byte) (bool, error) {
	if x == nil || y == nil || r == nil || s == nil {
		return false, errors.New("cryptosuite sm: missing key or signature part")
	}
	pub := &ecdsa.PublicKey{Curve: sm2.P256(), X: x, Y: y}
	return sm2.VerifyWithSM2(pub, uid, msg, r, s), nil
}
