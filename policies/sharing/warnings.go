package sharing

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"yiku/catalog"
	"yiku/policies/mask"
)

// WarningDerivableIdentifier is the code of a warning that granted fields
// are withheld because, returned with a masked identifier, they would give
// back what its mask hides (the derivation rule of package mask).
const WarningDerivableIdentifier = "derivable_identifier"

// Warning is advice on a field set shown to requesters and approvers: the
// request or approval stands, but readers will not get every field as
// granted.
type Warning struct {
	Code string `json:"code"`
	// Identifier is the masked identifier field; Fields the fields
	// withheld (redacted) for it.
	Identifier string   `json:"identifier"`
	Fields     []string `json:"fields"`
	Message    string   `json:"message"`
}

// Warnings compiles the plan of fields (plain ones unmasked) on res as the
// gate would, and reports what the derivation rule withholds from it.
// The answer is never nil.
func (s *Service) Warnings(ctx context.Context, res catalog.Resource, fields, plain []string) ([]Warning, error) {
	out := []Warning{}
	var granted, unmasked []string
	for _, f := range fields {
		if _, ok := res.Field(f); ok {
			granted = append(granted, f)
		}
	}
	for _, f := range plain {
		if slices.Contains(granted, f) {
			unmasked = append(unmasked, f)
		}
	}
	p, err := s.Gate.Preview(ctx, res, granted, unmasked)
	if err != nil {
		return nil, err
	}
	for _, w := range p.Withheld() {
		out = append(out, Warning{Code: WarningDerivableIdentifier, Identifier: w.Identifier, Fields: w.Fields,
			Message: fmt.Sprintf("%s would give back what the mask of %s hides (%.0f possible values left; at least %d required), so readers get %s redacted; grant %s in plain text, or leave %s out, to change this",
				strings.Join(w.Fields, ", "), w.Identifier, w.Candidates, mask.MinCandidates, strings.Join(w.Fields, ", "), w.Identifier, strings.Join(w.Fields, ", "))})
	}
	return out, nil
}
