package calendar

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// fileFormat is the override file:
//
//	years:
//	  2028:
//	    holidays: [2028-01-01, 2028-01-02]
//	    workdays: [2028-01-29]
//
// Each year listed replaces that year of the tables entirely.
type fileFormat struct {
	Years map[int]struct {
		Holidays []string `yaml:"holidays"`
		Workdays []string `yaml:"workdays"`
	} `yaml:"years"`
}

// ParseFile reads an override file's years.
func ParseFile(data []byte) (map[int]Year, error) {
	var f fileFormat
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	out := make(map[int]Year, len(f.Years))
	for y, fy := range f.Years {
		if y < 1949 || y > 9999 {
			return nil, fmt.Errorf("calendar: %d is not a year this calendar counts", y)
		}
		var yr Year
		for _, s := range fy.Holidays {
			d, err := ParseDate(s)
			if err != nil {
				return nil, fmt.Errorf("calendar: year %d holidays: %w", y, err)
			}
			yr.Holidays = append(yr.Holidays, d)
		}
		for _, s := range fy.Workdays {
			d, err := ParseDate(s)
			if err != nil {
				return nil, fmt.Errorf("calendar: year %d workdays: %w", y, err)
			}
			yr.Workdays = append(yr.Workdays, d)
		}
		if err := check(y, yr); err != nil {
			return nil, err
		}
		out[y] = yr
	}
	return out, nil
}

// Load builds the calendar from the tables and, when path is not empty,
// the override file at path.
func Load(path string) (*Calendar, error) {
	if path == "" {
		return New(nil)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	years, err := ParseFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return New(years)
}
