package schemas

// SubjectPartKeyword is the annotation on a top-level property that
// repeats a part of the record subject's identifier (the resource's
// subject key): "birth_date", "sex", "division" or "org_code" (the names
// of package policies/mask's identifier parts). Validation ignores it; the
// masking of shared records uses it so that a masked identifier cannot be
// rebuilt from the fields returned beside it. The base schemas carry it
// (population: birth_date, sex, domicile_division; legal entity:
// division).
const SubjectPartKeyword = "x-yiku-subject-part"
