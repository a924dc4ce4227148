package cryptosuite

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// TokenAlg is the JWS "alg" of bearer tokens signed with the suite: EdDSA
// (RFC 8037) for default, SM2SM3 for sm (no registered JWS name exists;
// the hub both issues and checks its tokens).
func (s Suite) TokenAlg() string {
	if s.name == SM {
		return "SM2SM3"
	}
	return "EdDSA"
}

// TokenVerifyKey is the key a JWS library verifies the suite's tokens
// with: the standard Ed25519 public key for EdDSA, which libraries know,
// and the Verifier itself for SM2SM3, which the hub registers.
func (s Suite) TokenVerifyKey(v Verifier) any {
	if p, ok := v.(ed25519Pub); ok {
		return ed25519.PublicKey(p)
	}
	return v
}

// GenerateSigningKey makes a random signing key of the suite and its PEM
// encoding (PKCS #8, as `openssl genpkey` writes it).
func (s Suite) GenerateSigningKey() (Signer, []byte, error) {
	var (
		priv   any
		signer Signer
	)
	switch s.name {
	case SM:
		k, err := sm2.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, fmt.Errorf("cryptosuite sm: generate key: %w", err)
		}
		priv, signer = k, sm2Key{k}
	default:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, fmt.Errorf("cryptosuite default: generate key: %w", err)
		}
		priv, signer = k, ed25519Key{k}
	}
	der, err := smx509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("cryptosuite %s: encode key: %w", s.name, err)
	}
	return signer, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseSigningKey reads a PEM PKCS #8 private key of the suite. A key of the
// other suite is refused with an error that says which it is.
func (s Suite) ParseSigningKey(pemBytes []byte) (Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := smx509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a PKCS #8 private key: %w", err)
	}
	switch k := k.(type) {
	case ed25519.PrivateKey:
		if s.name != Default {
			return nil, fmt.Errorf("an Ed25519 key, but the %s suite signs with SM2", s.name)
		}
		return ed25519Key{k}, nil
	case *sm2.PrivateKey:
		if s.name != SM {
			return nil, fmt.Errorf("an SM2 key, but the %s suite signs with Ed25519", s.name)
		}
		return sm2Key{k}, nil
	}
	return nil, fmt.Errorf("a %T key, which no suite signs with", k)
}
