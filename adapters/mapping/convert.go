package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"yiku/schemas"
)

// converter turns one non-empty input value into the output value.
type converter func(v any) (any, error)

// Conversions lists the names Convert accepts, for docs and lint.
var Conversions = []string{"string", "trim", "upper", "lower", "int", "number", "bool", "date", "datetime", "resident_id", "uscc"}

func lookupConverter(f FieldSpec) (converter, error) {
	if f.Codes != nil {
		codes := make(map[string]any, len(f.Codes))
		for k, v := range f.Codes {
			codes[strings.TrimSpace(k)] = v
		}
		return func(v any) (any, error) {
			s := strings.TrimSpace(text(v))
			if out, ok := codes[s]; ok {
				return out, nil
			}
			return nil, errors.New("unknown code")
		}, nil
	}
	switch f.Convert {
	case "":
		return plain, nil
	case "string":
		return func(v any) (any, error) { return text(v), nil }, nil
	case "trim":
		return func(v any) (any, error) { return strings.TrimSpace(text(v)), nil }, nil
	case "upper":
		return func(v any) (any, error) { return strings.ToUpper(strings.TrimSpace(text(v))), nil }, nil
	case "lower":
		return func(v any) (any, error) { return strings.ToLower(strings.TrimSpace(text(v))), nil }, nil
	case "int":
		return toInt, nil
	case "number":
		return toNumber, nil
	case "bool":
		return toBool, nil
	case "date":
		return func(v any) (any, error) {
			t, err := parseTime(v, f.Layouts, true)
			if err != nil {
				return nil, err
			}
			return t.Format("2006-01-02"), nil
		}, nil
	case "datetime":
		return func(v any) (any, error) {
			t, err := parseTime(v, f.Layouts, false)
			if err != nil {
				return nil, err
			}
			return t.Format(time.RFC3339), nil
		}, nil
	case "resident_id":
		return func(v any) (any, error) { return schemas.NormalizeResidentID(text(v)) }, nil
	case "uscc":
		return func(v any) (any, error) {
			s := strings.ToUpper(strings.TrimSpace(text(v)))
			if _, err := schemas.ValidateUSCC(s); err != nil {
				return nil, err
			}
			return s, nil
		}, nil
	}
	return nil, fmt.Errorf("unknown conversion %q (known: %s)", f.Convert, strings.Join(Conversions, ", "))
}

// plain passes values through, turning driver types into JSON ones.
func plain(v any) (any, error) {
	switch x := v.(type) {
	case []byte:
		return string(x), nil
	case time.Time:
		return x.Format(time.RFC3339Nano), nil
	}
	return v, nil
}

func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(v)
}

func toInt(v any) (any, error) {
	switch x := v.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32:
		return x, nil
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return nil, errors.New("not a whole number")
		}
		return int64(x), nil
	case bool:
		return nil, errors.New("not a whole number")
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(text(v)), ",", ""), 10, 64)
	if err != nil {
		return nil, errors.New("not a whole number")
	}
	return n, nil
}

func toNumber(v any) (any, error) {
	switch x := v.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, float32, float64:
		return x, nil
	case bool:
		return nil, errors.New("not a number")
	}
	s := strings.ReplaceAll(strings.TrimSpace(text(v)), ",", "")
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, errors.New("not a number")
	}
	return f, nil
}

func toBool(v any) (any, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case int64:
		return x != 0, nil
	case int:
		return x != 0, nil
	}
	switch strings.ToLower(strings.TrimSpace(text(v))) {
	case "1", "true", "t", "y", "yes", "是", "有效":
		return true, nil
	case "0", "false", "f", "n", "no", "否", "无效":
		return false, nil
	}
	return nil, errors.New("not a yes/no value")
}

// legacyDate matches the date shapes legacy systems write: 20180625,
// 2018/6/25, 2018-06-25, 2018.6.25, 2018年6月25日, optionally followed by a
// time of day.
var legacyDate = regexp.MustCompile(`^(\d{4})(?:(\d{2})(\d{2})|[-/.年](\d{1,2})[-/.月](\d{1,2})日?)(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$`)

// shanghai is China Standard Time; a fixed zone needs no tz database.
var shanghai = time.FixedZone("CST", 8*3600)

func parseTime(v any, layouts []string, dateOnly bool) (time.Time, error) {
	if t, ok := v.(time.Time); ok {
		return t, nil
	}
	s := strings.TrimSpace(text(v))
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, shanghai); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	m := legacyDate.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, errors.New("not a date in a known format")
	}
	y, _ := strconv.Atoi(m[1])
	mo, d := m[2], m[3]
	if mo == "" {
		mo, d = m[4], m[5]
	}
	month, _ := strconv.Atoi(mo)
	day, _ := strconv.Atoi(d)
	var hh, mm, ss int
	if m[6] != "" {
		if dateOnly {
			// A date field may come with a midnight time from a DATETIME
			// column; keep the date.
			hh, mm = 0, 0
		} else {
			hh, _ = strconv.Atoi(m[6])
			mm, _ = strconv.Atoi(m[7])
			ss, _ = strconv.Atoi(m[8])
		}
	}
	if month < 1 || month > 12 || day < 1 || hh > 23 || mm > 59 || ss > 59 {
		return time.Time{}, errors.New("not a real calendar date")
	}
	t := time.Date(y, time.Month(month), day, hh, mm, ss, 0, shanghai)
	if t.Day() != day || t.Month() != time.Month(month) {
		return time.Time{}, errors.New("not a real calendar date")
	}
	return t, nil
}
