package kafkaacl

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
)

// Mechanism is the SASL mechanism of every credential the hub issues.
const Mechanism = "SCRAM-SHA-512"

// Iterations is the SCRAM iteration count: 4096, Kafka's minimum and
// the count kafka-configs.sh uses. The password is 192 random bits, so
// more iterations would protect nothing; and the embedded broker (kfake)
// announces 4096 to clients whatever count a credential was stored with.
const Iterations = 4096

// SCRAM is a credential in the form the broker stores: the salt and the
// salted password (RFC 5802 Hi(password, salt, i)), never the password.
type SCRAM struct {
	User           string
	Salt           []byte
	SaltedPassword []byte
	Iterations     int
}

// newPassword returns a random password of 192 bits in URL-safe base64: it
// needs no SASLprep normalisation and no quoting in a kcat -X argument.
func newPassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("kafkaacl: password entropy: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Salt derives the SCRAM-SHA-512 form of password for user with a fresh
// random salt.
func Salt(user, password string) (SCRAM, error) {
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return SCRAM{}, fmt.Errorf("kafkaacl: salt entropy: %w", err)
	}
	salted, err := pbkdf2.Key(sha512.New, password, salt, Iterations, sha512.Size)
	if err != nil {
		return SCRAM{}, fmt.Errorf("kafkaacl: salt password: %w", err)
	}
	return SCRAM{User: user, Salt: salt, SaltedPassword: salted, Iterations: Iterations}, nil
}
