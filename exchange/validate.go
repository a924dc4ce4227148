package exchange

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"time"

	"yiku/catalog"
	"yiku/fieldcrypt"
	"yiku/inputtext"
)

// Rejection is why one record of a batch was refused.
type Rejection struct {
	Index   int    `json:"index"`
	Pointer string `json:"pointer"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// Checked is the outcome of validating a batch: the accepted records with
// their indexes in the batch, and one rejection per violation of the others.
type Checked struct {
	Accepted []Record
	Indexes  []int
	Rejected []Rejection
	// RejectedRecords counts records with at least one rejection.
	RejectedRecords int
}

// Envelope says who publishes a batch and under which schema version.
type Envelope struct {
	Resource  catalog.Resource
	ID        string // the resource id (topic and library key)
	Validator catalog.RecordValidator
	Publisher string
	TraceID   string
	Now       time.Time
}

// parallelFrom is the batch size from which validation fans out over the
// CPUs; below it the goroutine overhead outweighs the gain.
const parallelFrom = 64

// Check validates every record of a batch against the envelope's schema,
// in parallel for large batches, and turns the valid ones into Records
// with their canonical form, subject key and content hash.
func Check(env Envelope, raws []json.RawMessage) Checked {
	type result struct {
		rec  Record
		errs []Rejection
	}
	res := make([]result, len(raws))
	one := func(i int) {
		rec, errs := checkOne(env, i, raws[i])
		res[i] = result{rec, errs}
	}
	workers := min(runtime.GOMAXPROCS(0), len(raws)/parallelFrom)
	if workers <= 1 {
		for i := range raws {
			one(i)
		}
	} else {
		var wg sync.WaitGroup
		chunk := (len(raws) + workers - 1) / workers
		for w := 0; w < workers; w++ {
			lo, hi := w*chunk, min((w+1)*chunk, len(raws))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := lo; i < hi; i++ {
					one(i)
				}
			}()
		}
		wg.Wait()
	}
	var out Checked
	for i, r := range res {
		if len(r.errs) > 0 {
			out.Rejected = append(out.Rejected, r.errs...)
			out.RejectedRecords++
			continue
		}
		out.Accepted = append(out.Accepted, r.rec)
		out.Indexes = append(out.Indexes, i)
	}
	return out
}

// ValueValidator is a RecordValidator that also checks an already decoded
// record (encoding/json with UseNumber); the catalog's validators are. With
// it a published record is decoded once for validation and canonical form.
type ValueValidator interface {
	ValidateValue(v any) []catalog.Violation
}

func checkOne(env Envelope, i int, raw []byte) (Record, []Rejection) {
	v, err := decodeValue(raw)
	if err != nil {
		return Record{}, []Rejection{{Index: i, Pointer: "", Rule: "json", Message: "record is not valid JSON: " + err.Error()}}
	}
	// encoding/json decoded a bad byte as U+FFFD; storing that would change
	// the record without a word to its publisher.
	if ptr, bad := inputtext.InvalidUTF8(raw); bad {
		return Record{}, []Rejection{{Index: i, Pointer: ptr, Rule: "utf8", Message: "string is not valid UTF-8 (or holds a lone surrogate escape)"}}
	}
	var vs []catalog.Violation
	if vv, ok := env.Validator.(ValueValidator); ok {
		vs = vv.ValidateValue(v)
	} else {
		vs = env.Validator.Validate(raw)
	}
	if len(vs) > 0 {
		errs := make([]Rejection, len(vs))
		for k, v := range vs {
			errs[k] = Rejection{Index: i, Pointer: v.Pointer, Rule: v.Rule, Message: v.Message}
		}
		return Record{}, errs
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return Record{}, []Rejection{{Index: i, Pointer: "", Rule: "type", Message: "the record must be one JSON object"}}
	}
	key := env.Resource.SubjectKey
	subject, ok := obj[key].(string)
	if !ok || subject == "" {
		return Record{}, []Rejection{{Index: i, Pointer: "/" + key, Rule: "subject_key", Message: fmt.Sprintf("the subject key %s must be a non-empty string", key)}}
	}
	if fieldcrypt.SealedSubject(subject) {
		return Record{}, []Rejection{{Index: i, Pointer: "/" + key, Rule: "subject_key", Message: fmt.Sprintf("the subject key %s may not begin with %q: the hub keeps that prefix for its pseudonyms", key, fieldcrypt.SubjectPrefix)}}
	}
	canon, err := AppendCanonical(make([]byte, 0, len(raw)), obj)
	if err != nil {
		return Record{}, []Rejection{{Index: i, Pointer: "", Rule: "json", Message: err.Error()}}
	}
	return Record{
		Resource:      env.ID,
		SubjectKey:    subject,
		ID:            ContentHash(canon),
		SchemaVersion: env.Validator.Version(),
		Publisher:     env.Publisher,
		TraceID:       env.TraceID,
		PublishedAt:   env.Now,
		Data:          canon,
	}, nil
}
