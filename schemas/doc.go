// Package schemas holds what Yiku knows about the shape of shared records:
// validators for the Chinese identifiers that key them, the JSON Schema
// formats built on those validators, and the built-in base-library schemas.
//
// Identifiers (one file each, strict canonical form, errors matching the
// Err* kinds):
//
//   - resident ID number, GB 11643-1999: ValidateResidentID, and
//     NormalizeResidentID as the lenient input step (x → X, 15-digit upgrade)
//   - unified social credit code, GB 32100-2015: ValidateUSCC, which refuses
//     alphabet, check-character and region-digit failures and returns the
//     stricter findings (registration authority, GB 11714 organisation
//     code) as warnings
//   - administrative division code, GB/T 2260 (+ township and village
//     levels): ValidateDivisionCode, structural only
//   - e-licence identifier, GB/T 36904-2018: ValidateElicenceID and
//     BuildElicenceID
//
// RegisterFormats adds the formats cn-resident-id, cn-uscc,
// cn-division-code and cn-elicence-id to a
// github.com/santhosh-tekuri/jsonschema/v6 compiler and turns format
// assertion on. Base returns the draft 2020-12 schemas of the base
// libraries (population, legal entity, enterprise credit, e-licence);
// NewCompiler and CompileBase compile them, and Violations turns a
// validation error into per-field pointers and reasons.
//
// The package does not hold the resource catalog, schema versions or
// compatibility rules (package catalog), masking of identifiers (package
// policies), or any list of current division codes: codes change every
// year and records keep old ones, so validation stays structural and
// DivisionName knows only the few codes of the Louxing deployment.
// Validators check a single value; consistency between fields (the birth
// date inside an ID number against birth_date) is the caller's concern.
//
// Nothing here keeps mutable state; only "today" (China time) is read from
// the clock, to refuse birth dates in the future.
package schemas
