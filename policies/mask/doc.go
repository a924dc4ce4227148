// Package mask projects and masks the records Yiku delivers to readers.
//
// A catalog resource's fields carry masking metadata (Field: a Rule and a
// Sensitive flag). A grant names the fields a reader may have and those it
// needs in plain text. NewPlan compiles the two into a Plan, once per
// (resource fields, grant); Plan.Apply and Plan.ApplyJSON then turn every
// stored record into the record the reader receives, and Plan.Fields says
// what that record holds, for the "what may I read" endpoint and for the
// audit trail's "fields returned".
//
// A plan decides each catalog field as follows:
//
//   - not granted: dropped from the record, not masked;
//   - granted and in the grant's plain list: returned as stored;
//   - granted, with a rule: masked with the rule;
//   - granted, sensitive, rule none: redacted (a sensitive field with no
//     chosen rule is never published by mistake);
//   - granted, not sensitive, rule none: returned as stored.
//
// # Rules
//
// Masking counts runes, not bytes, so Chinese names and addresses are masked
// by character, one '*' for each hidden rune. A value too short to have a
// hidden part (no longer than the runes a rule keeps) is masked whole: a rule
// never shows a whole value, save a date that is only a year, which is what
// the date rule shows. The empty string stays empty (except under
// redact) and null stays null under every rule.
//
//	rule        keeps                          example
//	none        everything                     —
//	id_number   first 6 + last 4 runes         11010519491231002X → 110105********002X
//	                                           110105491231002 (15-digit) → 110105*****1002
//	mobile      first 3 + last 4 runes         13800138000 → 138****8000
//	                                           +8613800138000 → +86*******8000
//	name        first rune                     张三丰 → 张**, 李四 → 李*, 王 → *
//	                                           欧阳娜娜 → 欧***
//	address     first 6 runes                  北京市朝阳区建国路88号 → 北京市朝阳区******
//	uscc        first 8 + last 2 runes         91350100M000100Y43 → 91350100********43
//	email       first rune of the local part,  zhangsan@example.gov.cn → z***@example.gov.cn
//	            then "***", then "@domain"     a@x.cn → ***@x.cn, no-at-sign → ***
//	date        leading 4-digit year and       1985-03-12 → 1985-**-**
//	            separators                     1985年3月12日 → 1985年*月**日
//	redact      nothing                        any string → "***", other values → null
//	keyed_hash  a pseudonym                    11010519491231002X → h:<32 hex digits>
//
// Choices worth knowing:
//
//   - name: compound surnames (欧阳, 司马) are not special-cased; only the
//     first character is kept, which shows less, never more. Names in Latin
//     script are masked the same way, spaces included.
//   - mobile: international prefixes are not special-cased; +86… keeps
//     "+86" as its first three runes and so hides more of the number.
//   - uscc: the first 8 characters (registration authority, organisation
//     category, division code of the registering authority) classify an
//     organisation without identifying it; the last 2 (check characters)
//     let a person confirm a code they already hold. The 9-character
//     subject identifier is hidden but for its check character.
//   - address: one '*' per hidden rune, so the masked value keeps the
//     length of the original.
//   - email: the length of the local part is not shown.
//   - date: every letter and digit after the year is masked, separators
//     and the units 年月日号时分秒 and the T and Z of RFC 3339 are kept. A
//     value not starting with a four-digit year (85-03-12, 03/12/1985) is
//     masked whole.
//   - redact: strings become "***"; numbers, booleans, objects and arrays
//     become null, so a reader cannot mistake a placeholder for data of the
//     field's type.
//   - keyed_hash: "h:" and the first 32 hex digits (128 bits) of
//     HMAC-SHA256(key, value). It is deterministic, so departments holding
//     the same key can join on pseudonyms; the field name is not hashed, so
//     the same ID number gives the same pseudonym in any field. The key is
//     passed to NewPlan (at least MinKeyLen bytes); the package holds none.
//     Values are hashed as written: canonical forms (upper-case X in ID
//     numbers) are the business of ingest validation.
//
// Values of other types: under id_number, mobile, uscc, date and keyed_hash a
// number (json.Number, float64, Go integers) is masked as its decimal text
// and the result is a string; under name, address and email it is redacted
// to null. Booleans, objects and arrays are redacted to null under every
// rule. Masking never panics.
//
// # Identifiers rebuilt from other fields
//
// A Field may hold an identifier (Identifier: resident ID number, credit
// code) or repeat a part of one (Part, Of: birth date, sex, division code,
// organisation code). NewPlan then checks, for every identifier it returns
// masked, how many values fit what the record shows of it and of its
// parts; below MinCandidates it withholds (redacts) part fields, the most
// revealing first. Plan.Withheld lists the decisions and FieldView.Protects
// marks the withheld fields. The estimate and the reasons for withholding
// the part rather than widening the identifier's mask are in derive.go and
// docs/sharing.md.
//
// # What this package does not do
//
// It does not decide who may read what: grants come from approved share
// requests and the Casbin policies in the policies tree. It does not
// validate records against the catalog schema (ingest does), does not
// reach into nested objects (rules apply to top-level fields), and does not
// log or audit: callers record Plan.Fields in the audit trail. It holds no
// global mutable state and no keys.
package mask
