package compat

import (
	"fmt"
	"sort"
	"strings"
)

// Mode is a compatibility mode, named as Kafka schema registries name them.
type Mode string

const (
	None               Mode = "NONE"
	Backward           Mode = "BACKWARD"
	BackwardTransitive Mode = "BACKWARD_TRANSITIVE"
	Forward            Mode = "FORWARD"
	ForwardTransitive  Mode = "FORWARD_TRANSITIVE"
	Full               Mode = "FULL"
	FullTransitive     Mode = "FULL_TRANSITIVE"
)

var modes = []Mode{None, Backward, BackwardTransitive, Forward, ForwardTransitive, Full, FullTransitive}

// ParseMode accepts a mode name in any letter case.
func ParseMode(s string) (Mode, error) {
	m := Mode(strings.ToUpper(strings.TrimSpace(s)))
	for _, known := range modes {
		if m == known {
			return m, nil
		}
	}
	return "", fmt.Errorf("compat: unknown compatibility mode %q (want one of %v)", s, modes)
}

func (m Mode) backward() bool {
	return m == Backward || m == BackwardTransitive || m == Full || m == FullTransitive
}

func (m Mode) forward() bool {
	return m == Forward || m == ForwardTransitive || m == Full || m == FullTransitive
}

func (m Mode) transitive() bool {
	return m == BackwardTransitive || m == ForwardTransitive || m == FullTransitive
}

// Directions reported in Issue.Direction.
const (
	DirBackward = "backward"
	DirForward  = "forward"
)

// Issue is one reason the candidate is not (provably) compatible.
type Issue struct {
	// Pointer locates the change in the schema, e.g. "/properties/phone".
	// $ref is followed transparently, so a property defined under $defs is
	// reported where it is used.
	Pointer string `json:"pointer"`
	// Message says what changed and which records it would break.
	Message string `json:"message"`
	// Direction is "backward" (data valid under the old version would be
	// rejected by the new one) or "forward" (data written with the new
	// version would be rejected by readers of the old one).
	Direction string `json:"direction"`
	// AgainstVersion is the previous version the candidate was compared with.
	AgainstVersion int `json:"against_version"`
}

func (i Issue) String() string {
	return fmt.Sprintf("%s v%d %s: %s", i.Direction, i.AgainstVersion, i.Pointer, i.Message)
}

// Version is a previously registered schema version.
type Version struct {
	Number int
	Schema []byte
}

// Check checks candidate against the previous versions (oldest first)
// under mode. Non-transitive modes compare only with the latest previous
// version. No issues means compatible. The error is only for schemas that
// cannot be parsed or use unsupported constructs (see ErrRemoteRef,
// ErrUnsupported); an incompatibility is never an error.
func Check(mode Mode, candidate []byte, previous []Version) ([]Issue, error) {
	if _, err := ParseMode(string(mode)); err != nil {
		return nil, err
	}
	var ids int
	cand, err := parseSchema(candidate, &ids)
	if err != nil {
		return nil, fmt.Errorf("compat: candidate schema: %w", err)
	}
	if mode == None || len(previous) == 0 {
		return nil, nil
	}
	against := previous
	if !mode.transitive() {
		against = previous[len(previous)-1:]
	}
	var issues []Issue
	for _, v := range against {
		old, err := parseSchema(v.Schema, &ids)
		if err != nil {
			return nil, fmt.Errorf("compat: schema version %d: %w", v.Number, err)
		}
		name := fmt.Sprintf("v%d", v.Number)
		if mode.backward() {
			issues = append(issues, compare(old, cand, name, true, v.Number)...)
		}
		if mode.forward() {
			issues = append(issues, compare(cand, old, name, false, v.Number)...)
		}
	}
	return issues, nil
}

// compare reports how the instances valid under a fail to be a subset of
// those valid under b. backward says whether a is the old version.
func compare(a, b *doc, oldName string, backward bool, version int) []Issue {
	c := newChecker(oldName, backward)
	found := c.subset(a, b)
	dir := DirForward
	if backward {
		dir = DirBackward
	}
	out := make([]Issue, 0, len(found))
	for _, f := range found {
		out = append(out, Issue{Pointer: f.ptr, Message: f.msg, Direction: dir, AgainstVersion: version})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Pointer != out[j].Pointer {
			return out[i].Pointer < out[j].Pointer
		}
		return out[i].Message < out[j].Message
	})
	return out
}
