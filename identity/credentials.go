package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"yiku/cryptosuite"
	"yiku/fault"
	"yiku/keyfile"
)

// apiKeyPrefix marks Yiku API keys so a leaked key is recognisable in logs
// and secret scanners, and so authentication can tell keys from tokens.
const apiKeyPrefix = "yk_"

// cacheTTL bounds how long another hub instance may still accept a
// revoked key or a disabled principal.
const cacheTTL = 2 * time.Second

// Authenticator turns bearer secrets into principals and issues credentials.
type Authenticator struct {
	store  *Store
	key    cryptosuite.Signer
	verify any // what the token's method verifies with
	method jwt.SigningMethod
	issuer string
	ttl    time.Duration
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	p   Principal
	exp time.Time
}

// NewAuthenticator signs and verifies tokens with key, a signing key of
// suite (LoadOrCreateKey). Tokens signed by another suite are refused.
func NewAuthenticator(store *Store, suite cryptosuite.Suite, key cryptosuite.Signer, tokenTTL time.Duration) *Authenticator {
	a := &Authenticator{store: store, key: key, method: tokenMethod{alg: suite.TokenAlg()}, issuer: "yiku", ttl: tokenTTL, now: time.Now, cache: map[string]cached{}}
	if key != nil {
		a.verify = suite.TokenVerifyKey(key.Verifier())
	}
	return a
}

// The JWS library looks a token's method up by its "alg"; EdDSA is its own,
// the SM2 one is the suite's.
func init() {
	sm := cryptosuite.Must(cryptosuite.SM).TokenAlg()
	jwt.RegisterSigningMethod(sm, func() jwt.SigningMethod { return tokenMethod{alg: sm} })
}

// tokenMethod signs and checks JWS with the suite's signature scheme, so
// identity names no algorithm of its own.
type tokenMethod struct{ alg string }

func (m tokenMethod) Alg() string { return m.alg }

func (m tokenMethod) Sign(signingString string, key any) ([]byte, error) {
	k, ok := key.(cryptosuite.Signer)
	if !ok {
		return nil, jwt.ErrInvalidKeyType
	}
	return k.Sign([]byte(signingString))
}

func (m tokenMethod) Verify(signingString string, sig []byte, key any) error {
	v, ok := key.(cryptosuite.Verifier)
	if !ok {
		return jwt.ErrInvalidKeyType
	}
	if !v.Verify([]byte(signingString), sig) {
		return jwt.ErrSignatureInvalid
	}
	return nil
}

// Store returns the identity store.
func (a *Authenticator) Store() *Store { return a.store }

// IssuedKey is a new API key: Secret is shown once and never stored.
type IssuedKey struct {
	APIKey
	Secret string `json:"secret"`
}

// IssueAPIKey creates a key for principalID; ttl 0 means no expiry.
func (a *Authenticator) IssueAPIKey(ctx context.Context, principalID, label string, ttl time.Duration) (IssuedKey, error) {
	p, err := a.store.Principal(ctx, principalID)
	if err != nil {
		return IssuedKey{}, err
	}
	if p.DisabledAt != nil {
		return IssuedKey{}, fault.Conflictf("principal_disabled", "principal %s is disabled", p.Name)
	}
	if p.Kind != KindSystem {
		// People sign in with short-lived tokens; a long-lived key would let
		// a person's credential outlive their session and their post.
		return IssuedKey{}, fault.Invalidf("api_key_for_person", "principal %s is a person: API keys are for department systems, people use tokens", p.Name)
	}
	id := newID()
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return IssuedKey{}, fmt.Errorf("identity: key entropy: %w", err)
	}
	secret := apiKeyPrefix + id + "_" + hex.EncodeToString(raw)
	now := a.now().UTC()
	row := apiKeyRow{ID: id, PrincipalID: principalID, SecretHash: hashSecret(secret), Label: label, CreatedAt: now}
	if ttl > 0 {
		exp := now.Add(ttl)
		row.ExpiresAt = &exp
	}
	if err := a.store.createAPIKey(ctx, row); err != nil {
		return IssuedKey{}, err
	}
	return IssuedKey{APIKey: row.domain(), Secret: secret}, nil
}

// RevokeAPIKey revokes a key and drops it from this instance's cache.
func (a *Authenticator) RevokeAPIKey(ctx context.Context, id string) error {
	if err := a.store.revokeAPIKey(ctx, id); err != nil {
		return err
	}
	a.forgetKey(id)
	return nil
}

// forgetKey drops key id's cached authentications.
func (a *Authenticator) forgetKey(id string) {
	a.mu.Lock()
	for k := range a.cache {
		if strings.HasPrefix(k, apiKeyPrefix+id+"_") {
			delete(a.cache, k)
		}
	}
	a.mu.Unlock()
}

// APIKey returns a key's metadata.
func (a *Authenticator) APIKey(ctx context.Context, id string) (APIKey, error) {
	row, err := a.store.apiKey(ctx, id)
	if err != nil {
		return APIKey{}, err
	}
	return row.domain(), nil
}

// Claims are the claims of a Yiku bearer token.
type Claims struct {
	Department string `json:"dept"`
	Role       string `json:"role"`
	// IssuedBy names the principal who had the token issued (empty when the
	// hub issued it itself, as in the embedded demo).
	IssuedBy string `json:"issued_by,omitempty"`
	jwt.RegisteredClaims
}

// TokenTTL is the configured lifetime of issued tokens.
func (a *Authenticator) TokenTTL() time.Duration { return a.ttl }

// IssueToken signs a bearer token for p, valid for ttl (the configured TTL when 0).
func (a *Authenticator) IssueToken(p Principal, ttl time.Duration) (string, time.Time, error) {
	return a.IssueTokenBy(p, ttl, "")
}

// IssueTokenBy is IssueToken recording who asked for the token.
func (a *Authenticator) IssueTokenBy(p Principal, ttl time.Duration, issuedBy string) (string, time.Time, error) {
	if a.key == nil {
		return "", time.Time{}, errors.New("identity: no signing key configured")
	}
	if ttl <= 0 {
		ttl = a.ttl
	}
	now := a.now().UTC()
	exp := now.Add(ttl)
	claims := Claims{
		Department: p.DepartmentCode,
		Role:       string(p.Role),
		IssuedBy:   issuedBy,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: a.issuer, Subject: p.ID, IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(exp), ID: newID(),
		},
	}
	tok, err := jwt.NewWithClaims(a.method, claims).SignedString(a.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("identity: sign token: %w", err)
	}
	return tok, exp, nil
}

// Authenticate resolves a bearer secret — an API key or a signed token — to
// an active principal. Every failure is the same Unauthenticated error.
func (a *Authenticator) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	if bearer == "" {
		return Principal{}, errUnauthenticated("no credential")
	}
	now := a.now()
	a.mu.Lock()
	c, ok := a.cache[bearer]
	a.mu.Unlock()
	if ok && now.Before(c.exp) {
		return c.p, nil
	}
	var (
		p      Principal
		err    error
		expiry time.Time
	)
	if strings.HasPrefix(bearer, apiKeyPrefix) {
		p, expiry, err = a.authAPIKey(ctx, bearer, now)
	} else {
		p, expiry, err = a.authToken(ctx, bearer)
	}
	if err != nil {
		return Principal{}, err
	}
	exp := now.Add(cacheTTL)
	if !expiry.IsZero() && expiry.Before(exp) {
		exp = expiry
	}
	a.mu.Lock()
	if len(a.cache) > 10000 {
		a.cache = map[string]cached{}
	}
	a.cache[bearer] = cached{p: p, exp: exp}
	a.mu.Unlock()
	return p, nil
}

func (a *Authenticator) authAPIKey(ctx context.Context, secret string, now time.Time) (Principal, time.Time, error) {
	rest := strings.TrimPrefix(secret, apiKeyPrefix)
	id, _, ok := strings.Cut(rest, "_")
	if !ok || id == "" {
		return Principal{}, time.Time{}, errUnauthenticated("malformed api key")
	}
	row, err := a.store.apiKey(ctx, id)
	if err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return Principal{}, time.Time{}, errUnauthenticated("unknown api key")
		}
		return Principal{}, time.Time{}, err
	}
	if subtle.ConstantTimeCompare([]byte(row.SecretHash), []byte(hashSecret(secret))) != 1 {
		return Principal{}, time.Time{}, errUnauthenticated("api key secret mismatch")
	}
	if !row.domain().Active(now) {
		return Principal{}, time.Time{}, errUnauthenticated("api key revoked or expired")
	}
	p, err := a.activePrincipal(ctx, row.PrincipalID)
	if err != nil {
		return Principal{}, time.Time{}, err
	}
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) > time.Minute {
		_ = a.store.touchAPIKey(ctx, id, now.UTC())
	}
	var exp time.Time
	if row.ExpiresAt != nil {
		exp = *row.ExpiresAt
	}
	return p, exp, nil
}

func (a *Authenticator) authToken(ctx context.Context, tok string) (Principal, time.Time, error) {
	if a.key == nil {
		return Principal{}, time.Time{}, errUnauthenticated("tokens not configured")
	}
	var claims Claims
	_, err := jwt.ParseWithClaims(tok, &claims, func(t *jwt.Token) (any, error) {
		return a.verify, nil
	}, jwt.WithValidMethods([]string{a.method.Alg()}), jwt.WithIssuer(a.issuer), jwt.WithExpirationRequired(), jwt.WithTimeFunc(a.now))
	if err != nil {
		return Principal{}, time.Time{}, errUnauthenticated("token: " + err.Error())
	}
	p, err := a.activePrincipal(ctx, claims.Subject)
	if err != nil {
		return Principal{}, time.Time{}, err
	}
	// A token carries the department and role it was issued for; if either has
	// changed since, the token no longer speaks for the principal.
	if p.DepartmentCode != claims.Department || string(p.Role) != claims.Role {
		return Principal{}, time.Time{}, errUnauthenticated("token claims out of date")
	}
	return p, claims.ExpiresAt.Time, nil
}

func (a *Authenticator) activePrincipal(ctx context.Context, id string) (Principal, error) {
	p, err := a.store.Principal(ctx, id)
	if err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return Principal{}, errUnauthenticated("unknown principal")
		}
		return Principal{}, err
	}
	if p.DisabledAt != nil {
		return Principal{}, errUnauthenticated("principal disabled")
	}
	return p, nil
}

// Forget drops every cached authentication, e.g. after a principal is disabled.
func (a *Authenticator) Forget() {
	a.mu.Lock()
	a.cache = map[string]cached{}
	a.mu.Unlock()
}

// hashSecret hashes an API key secret. Keys carry 192 random bits, so a fast
// hash is enough: there is nothing to brute-force, unlike a password.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// LoadOrCreateKey reads the PEM private key that signs tokens with suite
// (Ed25519 for default, SM2 for sm) from path; when create is true and the
// file does not exist, it generates one (mode 0600). A key file that others
// may read is refused: whoever reads it can mint tokens for anyone.
func LoadOrCreateKey(path string, suite cryptosuite.Suite, create bool) (cryptosuite.Signer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		k, pemBytes, gerr := suite.GenerateSigningKey()
		if gerr != nil {
			return nil, fmt.Errorf("identity: generate key: %w", gerr)
		}
		if werr := os.WriteFile(path, pemBytes, 0o600); werr != nil {
			return nil, fmt.Errorf("identity: write key %s: %w", path, werr)
		}
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("identity: read key %s: %w", path, err)
	}
	if err := keyfile.CheckPrivate(path); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	k, err := suite.ParseSigningKey(data)
	if err != nil {
		return nil, fmt.Errorf("identity: key %s: %w", path, err)
	}
	return k, nil
}
