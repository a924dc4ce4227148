package audit

import (
	"crypto/ed25519"
	"encoding/binary"
)

// Checkpoint is a signed statement of a chain's head: "chain C had Seq
// entries ending in Hash at AtMicros". A verifier holding the public key
// can then detect entries removed from the end of a chain, which a hash
// chain alone cannot show, and a rewrite of the whole chain, which would
// need the private key to re-sign.
type Checkpoint struct {
	ID        int64
	Chain     string
	Seq       int64
	Hash      []byte
	AtMicros  int64
	PublicKey ed25519.PublicKey
	Signature []byte
}

const checkpointDomain = "yiku-audit-checkpoint-v1"

func (c Checkpoint) message() []byte {
	b := appendString(nil, checkpointDomain)
	b = appendString(b, c.Chain)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Seq))
	b = appendBytes(b, c.Hash)
	return binary.BigEndian.AppendUint64(b, uint64(c.AtMicros))
}

// Sign sets the checkpoint's public key and signature.
func (c *Checkpoint) Sign(key ed25519.PrivateKey) {
	c.PublicKey = key.Public().(ed25519.PublicKey)
	c.Signature = ed25519.Sign(key, c.message())
}

// Verify checks the signature with pub (the checkpoint's own public key when
// pub is nil, which proves integrity but not who signed).
func (c Checkpoint) Verify(pub ed25519.PublicKey) bool {
	if pub == nil {
		pub = c.PublicKey
	}
	if len(pub) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(pub, c.message(), c.Signature)
}
