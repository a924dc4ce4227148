package audit

import (
	"bytes"
	"encoding/binary"

	"yiku/cryptosuite"
)

// Checkpoint is a signed statement of a chain's head: "chain C had Seq
// entries ending in Hash at AtMicros". A verifier holding the public key
// can then detect entries removed from the end of a chain, which a hash
// chain alone cannot show, and a rewrite of the whole chain, which would
// need the private key to re-sign.
type Checkpoint struct {
	ID       int64
	Chain    string
	Seq      int64
	Hash     []byte
	AtMicros int64
	// PublicKey is the signer's public key in its chain suite's encoding
	// (Ed25519: 32 bytes; SM2: the uncompressed point).
	PublicKey []byte
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

// Sign sets the checkpoint's public key and signature. The key must be of
// the chain's suite.
func (c *Checkpoint) Sign(key cryptosuite.Signer) error {
	sig, err := key.Sign(c.message())
	if err != nil {
		return err
	}
	c.PublicKey, c.Signature = key.PublicKey(), sig
	return nil
}

// Verify checks the signature with the chain suite's scheme. trusted lists
// the public keys the verifier trusts (any suite's; those of other suites
// never match); with none, the checkpoint's own key is used, which proves
// integrity but not who signed.
func (c Checkpoint) Verify(trusted ...[]byte) bool {
	if len(trusted) > 0 {
		known := false
		for _, k := range trusted {
			if bytes.Equal(k, c.PublicKey) {
				known = true
				break
			}
		}
		if !known {
			return false
		}
	}
	v, err := ChainSuite(c.Chain).Verifier(c.PublicKey)
	if err != nil {
		return false
	}
	return v.Verify(c.message(), c.Signature)
}
