package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"time"

	"yiku/cryptosuite"
)

// HashSize is the length of an entry hash (SHA-256 or SM3).
const HashSize = cryptosuite.HashSize

// smChainPrefix marks the id of a chain written with the sm suite. The chain
// id is part of every entry's digest and of every checkpoint's signed
// message, so a chain's suite cannot be changed without breaking both.
// Chains without the prefix — all chains written before suites existed —
// use the default suite.
const smChainPrefix = "sm:"

// ChainID returns a chain id for a new chain of suite made from a fresh
// unique id.
func ChainID(suite cryptosuite.Name, unique string) string {
	if suite == cryptosuite.SM {
		return smChainPrefix + unique
	}
	return unique
}

// ChainSuite is the suite a chain's entries and checkpoints use.
func ChainSuite(chain string) cryptosuite.Suite {
	if strings.HasPrefix(chain, smChainPrefix) {
		return cryptosuite.Must(cryptosuite.SM)
	}
	return cryptosuite.Must(cryptosuite.Default)
}

// Entry is an Event as the trail stores it: its subjects replaced by keyed
// hashes (see SubjectKey), its lists flattened to the text the store keeps,
// and its place in a chain. Hash covers every stored column and the previous
// entry's hash, so editing, removing or reordering any stored entry breaks
// the chain at that entry.
type Entry struct {
	Chain string
	Seq   int64
	ID    string
	// AtMicros is the event time in microseconds since the Unix epoch, the
	// precision both databases keep exactly.
	AtMicros      int64
	RequestID     string
	PrincipalID   string
	PrincipalName string
	Department    string
	Role          string
	Action        string
	Resource      string
	// Subjects are the keyed subject hashes joined by single spaces.
	Subjects string
	// Fields are the field names joined by commas.
	Fields     string
	Purpose    string
	CaseNumber string
	Outcome    string
	Reason     string
	ClientAddr string
	Count      int64
	PrevHash   []byte
	Hash       []byte
}

// JoinSubjects flattens subject hashes for Entry.Subjects.
func JoinSubjects(hashes []string) string { return strings.Join(hashes, " ") }

// JoinFields flattens field names for Entry.Fields.
func JoinFields(fields []string) string { return strings.Join(fields, ",") }

// SplitList undoes JoinSubjects (sep " ") and JoinFields (sep ",").
func SplitList(s, sep string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, sep)
}

// Event returns the entry as an Event; its Subjects are the keyed hashes.
func (e Entry) Event() Event {
	return Event{
		ID: e.ID, Time: time.UnixMicro(e.AtMicros).UTC(), RequestID: e.RequestID,
		PrincipalID: e.PrincipalID, PrincipalName: e.PrincipalName, Department: e.Department, Role: e.Role,
		Action: e.Action, Resource: e.Resource, Subjects: SplitList(e.Subjects, " "), Fields: SplitList(e.Fields, ","),
		Purpose: e.Purpose, CaseNumber: e.CaseNumber, Outcome: Outcome(e.Outcome), Reason: e.Reason,
		ClientAddr: e.ClientAddr, Count: int(e.Count),
	}
}

const digestDomain = "yiku-audit-entry-v1"

// Digest computes the entry's chain hash from its stored columns and
// PrevHash with its chain's suite (SHA-256 or SM3). buf is scratch space
// reused across calls (may be nil); the encoding is length-prefixed, so no
// two different entries encode alike.
func Digest(e *Entry, buf []byte) ([HashSize]byte, []byte) {
	b := buf[:0]
	b = appendString(b, digestDomain)
	b = appendString(b, e.Chain)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = appendBytes(b, e.PrevHash)
	b = appendString(b, e.ID)
	b = binary.BigEndian.AppendUint64(b, uint64(e.AtMicros))
	for _, s := range [...]string{e.RequestID, e.PrincipalID, e.PrincipalName, e.Department, e.Role, e.Action,
		e.Resource, e.Subjects, e.Fields, e.Purpose, e.CaseNumber, e.Outcome, e.Reason, e.ClientAddr} {
		b = appendString(b, s)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(e.Count))
	if strings.HasPrefix(e.Chain, smChainPrefix) {
		return cryptosuite.Must(cryptosuite.SM).Sum(b), b
	}
	// The default suite's hash without the suite's indirection: this is
	// the verifier's inner loop.
	return sha256.Sum256(b), b
}

// Seal sets e.Hash from its content and PrevHash.
func (e *Entry) Seal() {
	h, _ := Digest(e, nil)
	e.Hash = h[:]
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// GenesisHash is the PrevHash of the first entry of every chain.
var GenesisHash = make([]byte, HashSize)
