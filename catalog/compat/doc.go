// Package compat checks whether a new version of a resource's JSON Schema
// (draft 2020-12) is compatible with its earlier versions, in the modes
// Kafka schema registries use, and explains every problem in plain words
// with a JSON pointer into the schema.
//
// It holds the modes, [Check] and its [Issue]s. It does not store schema
// versions, choose a resource's mode (the catalog does; registries default
// to BACKWARD), or validate records (that is the JSON Schema validator's
// job, which this package also uses to reject invalid schemas).
//
// # Semantics
//
// Compatibility is set inclusion between the documents two schemas accept:
//
//   - BACKWARD: consumers using the new schema can read data written with
//     the old one: every document valid under the old version is valid
//     under the new one.
//   - FORWARD: consumers still using the old schema can read data written
//     with the new one: every document valid under the new version is
//     valid under the old one.
//   - FULL: both. NONE: no check.
//
// The plain modes compare with the latest previous version only; the
// _TRANSITIVE modes compare with every previous version, which catches a
// field that v2 dropped and v3 brought back with another type.
//
// # Verdicts
//
// Our schemas are closed (additionalProperties: false) by default. With
// closed schemas:
//
//	change                                         BACKWARD  FORWARD
//	add an optional property                       ok        breaks
//	add a required property                        breaks    breaks
//	remove an optional property                    breaks    ok
//	remove a required property                     breaks    breaks
//	make a required property optional              ok        breaks
//	make an optional property required             breaks    ok
//	widen: enum value added, integer -> number,    ok        breaks
//	  nullable, limit loosened, format removed
//	narrow: the reverse of each of those           breaks    ok
//	change a format, a pattern, or a type          breaks    breaks
//	title, description, examples, default, ...     ok        ok
//
// With open schemas (additionalProperties absent or true) adding and
// removing swap: adding an optional property breaks BACKWARD (old records
// may already carry that name with any value), removing one breaks FORWARD
// (new records may carry it with a value old readers reject). The common
// rule "removing a field is FORWARD-incompatible" is that open-model rule.
// For closed consumers, removing an optional field is FORWARD-compatible
// (new records never carry it and the old schema does not require it) and
// BACKWARD-incompatible (old records that carry it are rejected by the new,
// closed schema). The issue messages say so where it matters.
//
// # How it decides
//
// Check decides "every document valid under A is valid under B"
// structurally, keyword by keyword: for each constraint of B it looks for a
// constraint of A at least as strict (maxLength 5 implies maxLength 10,
// integer implies number, an enum implies the enums and types its values
// satisfy). It understands type arrays, enum and const, string, number,
// array and object keywords, nested objects, $ref to local definitions
// (including recursive ones), allOf, anyOf and oneOf (a union on the old
// side is split into branches; each must fit one branch on the new side),
// not, if/then/else, dependentRequired, dependentSchemas, propertyNames,
// patternProperties and unevaluatedProperties. Annotations never matter.
//
// Where a change cannot be proven compatible the check is conservative: it
// reports an issue whose message starts "could not be proven compatible".
// That covers different regular expressions, a value set that fits only a
// union of several new branches, oneOf branches that may overlap, and
// schemas too large to compare within a fixed work limit. It never answers
// "compatible" without a proof.
//
// Pointers name the schema location where the difference was found,
// following $ref transparently: a change inside "#/$defs/address" used
// from property "home" is reported at /properties/home/properties/...
//
// Check returns an error only for input it cannot compare: invalid JSON,
// an invalid schema, a $ref outside the document ([ErrRemoteRef]), or an
// unsupported construct ([ErrUnsupported]): another $schema than draft
// 2020-12, $id below the root, $dynamicRef, or a $ref loop that never
// descends into the data.
package compat
