package exchange

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/catalog"
	"yiku/fieldcrypt"
)

// Kafka headers every record message carries.
const (
	HeaderResource      = "yiku-resource"
	HeaderSchemaVersion = "yiku-schema-version"
	HeaderPublisher     = "yiku-publisher"
	HeaderRecordID      = "yiku-record-id"
	HeaderContentHash   = "yiku-content-hash"
	HeaderTraceID       = "yiku-trace-id"
	HeaderPublishedAt   = "yiku-published-at"
	// HeaderDeleteReason marks a tombstone (the message value is empty).
	HeaderDeleteReason = "yiku-delete-reason"
	// HeaderSealed marks a record whose sensitive fields are encrypted
	// (package fieldcrypt); its value names the format ("ykf1").
	HeaderSealed = "yiku-sealed"
)

// SealedFormat is the value of HeaderSealed.
const SealedFormat = "ykf1"

// Sealer encrypts the sensitive fields of records on their way to Kafka
// and the library, and opens them on the paths that serve an authorised
// read (fieldcrypt.Cipher). Seal reports whether it sealed anything; Open
// returns data without sealed values as it is.
//
// When the catalog marks a resource's subject field sensitive, its records
// are keyed by a pseudonym of the subject (fieldcrypt.SealedSubject) in
// Kafka and in the library: SealSubject makes it on the way in, FindSubject
// finds it for a read by subject (without making a key; "" when the
// resource has none), OpenSubject turns it back into the subject.
type Sealer interface {
	Seal(ctx context.Context, resource string, sensitive []string, data []byte) ([]byte, bool, error)
	Open(ctx context.Context, resource string, data []byte) ([]byte, error)
	SealSubject(ctx context.Context, resource, subject string) (string, error)
	FindSubject(ctx context.Context, resource, subject string) (string, error)
	OpenSubject(ctx context.Context, resource, key string) (string, error)
}

// ErrUnopened marks a sealed record that could not be opened: the hub has
// no data key file, or the record's data key could not be loaded or
// unwrapped. The sink waits and retries rather than skip such a record;
// an altered ciphertext (fieldcrypt.ErrSealed) is refused like any
// corrupted message.
var ErrUnopened = errors.New("the record's encrypted fields cannot be opened")

// SensitiveFields names the fields of res the catalog marks sensitive:
// the ones sealed at rest.
func SensitiveFields(res catalog.Resource) []string {
	var out []string
	for _, f := range res.Fields {
		if f.Sensitivity == catalog.SensitivitySensitive {
			out = append(out, f.Name)
		}
	}
	return out
}

// Record is one validated record on its way through the hub.
type Record struct {
	Resource      string
	SubjectKey    string
	ID            string // hex sha256 of Data (or of the tombstone's identity)
	SchemaVersion int
	Publisher     string // department code of the provider
	TraceID       string
	PublishedAt   time.Time
	// Data is the canonical JSON of the record; nil for a tombstone.
	Data []byte
	// DeleteReason is set (and Data nil) for a tombstone.
	DeleteReason string
}

// Tombstone reports whether r deletes its subject's current record.
func (r Record) Tombstone() bool { return r.Data == nil }

// ErrNotObject is returned by Canonical for input that is not a JSON object.
var ErrNotObject = errors.New("record is not a JSON object")

// Canonical returns the canonical JSON of one record: an object with keys
// sorted, no insignificant white space, numbers as written, HTML characters
// unescaped. Two records with the same content have the same canonical form
// and hence the same id, which is what makes re-applying a record a no-op.
func Canonical(raw []byte) ([]byte, map[string]any, error) {
	v, err := decodeValue(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("exchange: canonical: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, nil, ErrNotObject
	}
	canon, err := AppendCanonical(make([]byte, 0, len(raw)), obj)
	if err != nil {
		return nil, nil, err
	}
	return canon, obj, nil
}

// ContentHash is the record id of canonical data.
func ContentHash(canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])
}

// TombstoneID is the record id of a deletion: deleting a subject twice for
// the same reason is one deletion.
func TombstoneID(resource, subject, reason string) string {
	sum := sha256.Sum256([]byte("tombstone\x00" + resource + "\x00" + subject + "\x00" + reason))
	return hex.EncodeToString(sum[:])
}

// Message is r as a Kafka message for topic, keyed by the subject key so a
// subject's records keep their order on one partition (the Publisher
// replaces a sensitive subject key by its pseudonym).
func (r Record) Message(topic string) kafka.Message {
	h := []kafka.Header{
		{Key: HeaderResource, Value: []byte(r.Resource)},
		{Key: HeaderSchemaVersion, Value: []byte(strconv.Itoa(r.SchemaVersion))},
		{Key: HeaderPublisher, Value: []byte(r.Publisher)},
		{Key: HeaderRecordID, Value: []byte(r.ID)},
		{Key: HeaderContentHash, Value: []byte("sha256:" + r.ID)},
		{Key: HeaderPublishedAt, Value: []byte(r.PublishedAt.UTC().Format(time.RFC3339Nano))},
	}
	if r.TraceID != "" {
		h = append(h, kafka.Header{Key: HeaderTraceID, Value: []byte(r.TraceID)})
	}
	if r.Tombstone() {
		h = append(h, kafka.Header{Key: HeaderDeleteReason, Value: []byte(r.DeleteReason)})
	}
	return kafka.Message{Topic: topic, Key: []byte(r.SubjectKey), Value: r.Data, Headers: h}
}

// RecordFromMessage reads back a record message the router wrote. It checks
// that the record id matches the content, so a corrupted or foreign message
// is refused rather than applied. A sealed record is checked through
// open (its plaintext is what the id hashes) and returned sealed, as it is
// stored; open may be nil on a hub without data keys, which then refuses
// sealed records. Likewise a record keyed by a subject pseudonym keeps it
// as its SubjectKey; the pseudonym is opened in memory to check that it is
// one this hub's keys made, and a tombstone's id against the subject.
func RecordFromMessage(ctx context.Context, m kafka.Message, open Sealer) (Record, error) {
	r := Record{SubjectKey: string(m.Key)}
	var reasonSet, sealed bool
	for _, h := range m.Headers {
		switch h.Key {
		case HeaderResource:
			r.Resource = string(h.Value)
		case HeaderSchemaVersion:
			v, err := strconv.Atoi(string(h.Value))
			if err != nil {
				return Record{}, fmt.Errorf("exchange: message %s/%d@%d: bad schema version header", m.Topic, m.Partition, m.Offset)
			}
			r.SchemaVersion = v
		case HeaderPublisher:
			r.Publisher = string(h.Value)
		case HeaderRecordID:
			r.ID = string(h.Value)
		case HeaderTraceID:
			r.TraceID = string(h.Value)
		case HeaderPublishedAt:
			t, err := time.Parse(time.RFC3339Nano, string(h.Value))
			if err == nil {
				r.PublishedAt = t
			}
		case HeaderDeleteReason:
			r.DeleteReason = string(h.Value)
			reasonSet = true
		case HeaderSealed:
			if string(h.Value) != SealedFormat {
				return Record{}, fmt.Errorf("exchange: message %s/%d@%d: sealed in an unknown format %q", m.Topic, m.Partition, m.Offset, h.Value)
			}
			sealed = true
		}
	}
	if r.Resource == "" || r.SubjectKey == "" || r.ID == "" {
		return Record{}, fmt.Errorf("exchange: message %s/%d@%d: missing resource, key or record id", m.Topic, m.Partition, m.Offset)
	}
	if r.PublishedAt.IsZero() {
		r.PublishedAt = m.Time
	}
	subject := r.SubjectKey
	if fieldcrypt.SealedSubject(subject) {
		if open == nil {
			return Record{}, fmt.Errorf("exchange: message %s/%d@%d: %w: this hub has no data key file", m.Topic, m.Partition, m.Offset, ErrUnopened)
		}
		var err error
		if subject, err = open.OpenSubject(ctx, r.Resource, subject); err != nil {
			return Record{}, fmt.Errorf("exchange: message %s/%d@%d: %w: %w", m.Topic, m.Partition, m.Offset, ErrUnopened, err)
		}
	}
	if len(m.Value) == 0 {
		if !reasonSet {
			return Record{}, fmt.Errorf("exchange: message %s/%d@%d: empty value without a delete reason", m.Topic, m.Partition, m.Offset)
		}
		if r.ID != TombstoneID(r.Resource, subject, r.DeleteReason) {
			return Record{}, fmt.Errorf("exchange: message %s/%d@%d: tombstone id does not match", m.Topic, m.Partition, m.Offset)
		}
		return r, nil
	}
	r.Data = m.Value
	plain := m.Value
	if sealed {
		if open == nil {
			return Record{}, fmt.Errorf("exchange: message %s/%d@%d: %w: this hub has no data key file", m.Topic, m.Partition, m.Offset, ErrUnopened)
		}
		var err error
		if plain, err = open.Open(ctx, r.Resource, m.Value); err != nil {
			return Record{}, fmt.Errorf("exchange: message %s/%d@%d: %w: %w", m.Topic, m.Partition, m.Offset, ErrUnopened, err)
		}
	}
	if ContentHash(plain) != r.ID {
		return Record{}, fmt.Errorf("exchange: message %s/%d@%d: content hash does not match record id", m.Topic, m.Partition, m.Offset)
	}
	return r, nil
}
