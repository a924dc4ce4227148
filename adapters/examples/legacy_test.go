package examples

import (
	"testing"

	"yiku/schemas"
)

func TestSyntheticIdentifiersAreValidAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 50000; i += 7 {
		for _, male := range []bool{true, false} {
			id := ResidentID(i, male)
			if err := schemas.ValidateResidentID(id); err != nil {
				t.Fatalf("ResidentID(%d, %v) = %s: %v", i, male, id, err)
			}
			if seen[id] {
				t.Fatalf("ResidentID(%d, %v) = %s repeats", i, male, id)
			}
			seen[id] = true
			if n, err := schemas.NormalizeResidentID(legacyID(id, i)); err != nil || n != id {
				t.Fatalf("legacy form of %s normalises to %s, %v", id, n, err)
			}
		}
	}
	if _, err := schemas.ValidateUSCC(USCC(42)); err != nil {
		t.Fatal(err)
	}
	if err := schemas.ValidateElicenceID(Licence(3)["licence_id"].(string)); err != nil {
		t.Fatal(err)
	}
}
