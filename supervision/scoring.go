package supervision

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"go.yaml.in/yaml/v3"
)

//go:embed scoring.yaml
var defaultScoring []byte

// Scoring is the weight of each scored metric. A metric a department has
// no figure for (no share request was due, say) is left out and the
// other weights share its part, so nobody gains or loses by what did not
// happen.
type Scoring struct {
	Weights map[string]float64 `yaml:"weights" json:"weights"`
}

// DefaultScoring is the shipped scoring file (supervision/scoring.yaml).
func DefaultScoring() Scoring {
	s, err := ParseScoring(defaultScoring)
	if err != nil {
		panic("supervision: the shipped scoring.yaml is invalid: " + err.Error())
	}
	return s
}

// ParseScoring reads a scoring file: weights of known metrics, none
// negative, at least one positive.
func ParseScoring(data []byte) (Scoring, error) {
	var s Scoring
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return Scoring{}, fmt.Errorf("supervision: scoring: %w", err)
	}
	var total float64
	for k, w := range s.Weights {
		if _, ok := scoredMetric(k); !ok {
			return Scoring{}, fmt.Errorf("supervision: scoring: %q is not a scored metric (%v)", k, scoredKeys())
		}
		if w < 0 {
			return Scoring{}, fmt.Errorf("supervision: scoring: weight of %s is negative", k)
		}
		total += w
	}
	if total <= 0 {
		return Scoring{}, errors.New("supervision: scoring: no positive weight")
	}
	return s, nil
}

// LoadScoring reads the scoring file at path, the shipped one when path
// is empty.
func LoadScoring(path string) (Scoring, error) {
	if path == "" {
		return DefaultScoring(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Scoring{}, fmt.Errorf("supervision: scoring: %w", err)
	}
	return ParseScoring(data)
}

func scoredKeys() []string {
	var out []string
	for _, m := range Metrics {
		if m.score != nil {
			out = append(out, m.Key)
		}
	}
	sort.Strings(out)
	return out
}

func scoredMetric(key string) (Metric, bool) {
	for _, m := range Metrics {
		if m.Key == key && m.score != nil {
			return m, true
		}
	}
	return Metric{}, false
}
