package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/exchange"
)

// Kafka Connect's JsonConverter with schemas.enable=true reads a message as
// {"schema": <Connect schema>, "payload": <value>}. A JDBC sink needs a
// schema for every column, so the hub's record messages (a subject key and
// canonical JSON data, the rest in headers) are copied into this form: the
// key is a struct of the library's primary key, the value a struct of the
// same record's columns.

type connectField struct {
	Field    string `json:"field"`
	Type     string `json:"type"`
	Optional bool   `json:"optional"`
	Name     string `json:"name,omitempty"`
}

type connectSchema struct {
	Type     string         `json:"type"`
	Name     string         `json:"name"`
	Optional bool           `json:"optional"`
	Fields   []connectField `json:"fields"`
}

type envelope struct {
	Schema  connectSchema `json:"schema"`
	Payload any           `json:"payload"`
}

// keySchema is the primary key of connect_records, as of library_records.
var keySchema = connectSchema{Type: "struct", Name: "yiku.library.Key", Fields: []connectField{
	{Field: "resource_id", Type: "string"},
	{Field: "subject_key", Type: "string"},
}}

// valueSchema holds the columns both sinks take from the message. Debezium
// writes published_at, a ZonedTimestamp (ISO-8601 text), into timestamptz.
var valueSchema = connectSchema{Type: "struct", Name: "yiku.library.Record", Fields: []connectField{
	{Field: "resource_id", Type: "string"},
	{Field: "subject_key", Type: "string"},
	{Field: "record_id", Type: "string"},
	{Field: "schema_version", Type: "int32"},
	{Field: "publisher", Type: "string"},
	{Field: "data", Type: "string", Optional: true},
	{Field: "trace_id", Type: "string"},
	{Field: "published_at", Type: "string", Name: "io.debezium.time.ZonedTimestamp"},
}}

type connectKey struct {
	ResourceID string `json:"resource_id"`
	SubjectKey string `json:"subject_key"`
}

type connectValue struct {
	ResourceID    string  `json:"resource_id"`
	SubjectKey    string  `json:"subject_key"`
	RecordID      string  `json:"record_id"`
	SchemaVersion int     `json:"schema_version"`
	Publisher     string  `json:"publisher"`
	Data          *string `json:"data"`
	TraceID       string  `json:"trace_id"`
	PublishedAt   string  `json:"published_at"`
}

// connectMessage is r as a JsonConverter message with schemas: the same
// record the library sink reads from r.Message, in the columns of
// connect_records. Tombstones are refused: the comparison upserts only.
func connectMessage(r exchange.Record) (kafka.Message, error) {
	if r.Tombstone() {
		return kafka.Message{}, fmt.Errorf("connectbench: record %s/%s is a deletion; only upserts are compared", r.Resource, r.SubjectKey)
	}
	key, err := json.Marshal(envelope{Schema: keySchema, Payload: connectKey{ResourceID: r.Resource, SubjectKey: r.SubjectKey}})
	if err != nil {
		return kafka.Message{}, err
	}
	data := string(r.Data)
	value, err := json.Marshal(envelope{Schema: valueSchema, Payload: connectValue{
		ResourceID: r.Resource, SubjectKey: r.SubjectKey, RecordID: r.ID, SchemaVersion: r.SchemaVersion,
		Publisher: r.Publisher, Data: &data, TraceID: r.TraceID,
		PublishedAt: r.PublishedAt.UTC().Format(time.RFC3339Nano),
	}})
	if err != nil {
		return kafka.Message{}, err
	}
	return kafka.Message{Key: key, Value: value}, nil
}

// connectTableDDL creates the JDBC sink's table: library_records' columns
// that come from the message, with the same types and primary key.
const connectTableDDL = `CREATE TABLE IF NOT EXISTS connect_records (
    resource_id    TEXT NOT NULL,
    subject_key    TEXT NOT NULL,
    record_id      TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    publisher      TEXT NOT NULL,
    data           TEXT,
    trace_id       TEXT NOT NULL DEFAULT '',
    published_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (resource_id, subject_key)
)`
