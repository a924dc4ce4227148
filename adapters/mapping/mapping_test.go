package mapping

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"yiku/adapters"
)

func TestConversions(t *testing.T) {
	cases := []struct {
		name    string
		field   FieldSpec
		in      any
		want    any
		wantErr bool
	}{
		{"compact date", FieldSpec{To: "d", Convert: "date"}, "20180625", "2018-06-25", false},
		{"slash date", FieldSpec{To: "d", Convert: "date"}, "2018/6/25", "2018-06-25", false},
		{"dotted date", FieldSpec{To: "d", Convert: "date"}, "2018.06.05", "2018-06-05", false},
		{"chinese date", FieldSpec{To: "d", Convert: "date"}, "2018年6月25日", "2018-06-25", false},
		{"date with time", FieldSpec{To: "d", Convert: "date"}, "2018-06-25 00:00:00", "2018-06-25", false},
		{"date from driver", FieldSpec{To: "d", Convert: "date"}, time.Date(2018, 6, 25, 0, 0, 0, 0, time.UTC), "2018-06-25", false},
		{"custom layout", FieldSpec{To: "d", Convert: "date", Layouts: []string{"02/01/2006"}}, "25/06/2018", "2018-06-25", false},
		{"impossible date", FieldSpec{To: "d", Convert: "date"}, "20180230", nil, true},
		{"month 13", FieldSpec{To: "d", Convert: "date"}, "2018/13/1", nil, true},
		{"not a date", FieldSpec{To: "d", Convert: "date"}, "yesterday", nil, true},
		{"datetime", FieldSpec{To: "d", Convert: "datetime"}, "2018/6/25 9:30", "2018-06-25T09:30:00+08:00", false},
		{"resident id lower x", FieldSpec{To: "id", Convert: "resident_id"}, "11010519491231002x", "11010519491231002X", false},
		{"resident id 15 digits", FieldSpec{To: "id", Convert: "resident_id"}, "110105491231002", "11010519491231002X", false},
		{"resident id full width", FieldSpec{To: "id", Convert: "resident_id"}, " １１０１０５１９４９１２３１００２Ｘ ", "11010519491231002X", false},
		{"resident id bad check", FieldSpec{To: "id", Convert: "resident_id"}, "110105194912310021", nil, true},
		{"uscc lower", FieldSpec{To: "c", Convert: "uscc"}, "91350100m000100y43", "91350100M000100Y43", false},
		{"uscc bad", FieldSpec{To: "c", Convert: "uscc"}, "91350100M000100Y44", nil, true},
		{"int", FieldSpec{To: "n", Convert: "int"}, "1,024", int64(1024), false},
		{"int from float", FieldSpec{To: "n", Convert: "int"}, 3.0, int64(3), false},
		{"int fraction", FieldSpec{To: "n", Convert: "int"}, "3.5", nil, true},
		{"number", FieldSpec{To: "n", Convert: "number"}, "12.50", 12.5, false},
		{"bool chinese", FieldSpec{To: "b", Convert: "bool"}, "是", true, false},
		{"bool bad", FieldSpec{To: "b", Convert: "bool"}, "maybe", nil, true},
		{"code", FieldSpec{To: "type", Codes: map[string]any{"1": "marriage", "2": "divorce"}}, "2", "divorce", false},
		{"unknown code", FieldSpec{To: "type", Codes: map[string]any{"1": "marriage"}}, "9", nil, true},
		{"unknown code default", FieldSpec{To: "type", Codes: map[string]any{"1": "marriage"}, Default: "other"}, "9", "other", false},
		{"bytes become text", FieldSpec{To: "s"}, []byte("娄星"), "娄星", false},
		{"trim", FieldSpec{To: "s", Convert: "trim"}, "  a ", "a", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(Spec{Fields: []FieldSpec{tc.field}})
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.Apply(adapters.Record{tc.field.input(): tc.in})
			if tc.wantErr {
				var me *Error
				if !errors.As(err, &me) || len(me.Reasons) != 1 || me.Reasons[0].Pointer != "/"+tc.field.To {
					t.Fatalf("want one mapping error on /%s, got %v (out %v)", tc.field.To, err, out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := out[tc.field.To]; !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestApplyRenamesConstantsAndRequired(t *testing.T) {
	m, err := New(Spec{Fields: []FieldSpec{
		{To: "registration_number", From: "DJBH", Required: true},
		{To: "office", Value: "娄星区婚姻登记处"},
		{To: "remark", From: "BZ", OmitEmpty: true},
		{To: "status", From: "ZT", Default: "valid"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Apply(adapters.Record{"DJBH": "J430001", "BZ": " ", "EXTRA": 1})
	if err != nil {
		t.Fatal(err)
	}
	want := adapters.Record{"registration_number": "J430001", "office": "娄星区婚姻登记处", "status": "valid"}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("got %v, want %v", out, want)
	}
	_, err = m.Apply(adapters.Record{"DJBH": ""})
	var me *Error
	if !errors.As(err, &me) || me.Reasons[0].Rule != "required" {
		t.Fatalf("want required error, got %v", err)
	}
}

func TestKeepUnmapped(t *testing.T) {
	m, err := New(Spec{KeepUnmapped: true, Fields: []FieldSpec{{To: "name", From: "XM"}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Apply(adapters.Record{"XM": "张三", "mobile": "13800000000"})
	if err != nil {
		t.Fatal(err)
	}
	want := adapters.Record{"name": "张三", "mobile": "13800000000"}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("got %v, want %v", out, want)
	}
}

func TestApplyCollectsEveryError(t *testing.T) {
	m, err := New(Spec{Fields: []FieldSpec{
		{To: "id_number", Convert: "resident_id"},
		{To: "date", Convert: "date"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Apply(adapters.Record{"id_number": "123", "date": "2018/2/30"})
	var me *Error
	if !errors.As(err, &me) || len(me.Reasons) != 2 {
		t.Fatalf("want two reasons, got %v", err)
	}
}

func TestSpecErrors(t *testing.T) {
	cases := []struct {
		name  string
		spec  Spec
		field string
	}{
		{"missing to", Spec{Fields: []FieldSpec{{From: "a"}}}, "fields[0].to"},
		{"duplicate", Spec{Fields: []FieldSpec{{To: "a"}, {To: "a"}}}, "fields[1].to"},
		{"unknown conversion", Spec{Fields: []FieldSpec{{To: "a", Convert: "rot13"}}}, "fields[0].convert"},
		{"constant with from", Spec{Fields: []FieldSpec{{To: "a", From: "b", Value: 1}}}, "fields[0].value"},
		{"codes and convert", Spec{Fields: []FieldSpec{{To: "a", Convert: "int", Codes: map[string]any{"1": 1}}}}, "fields[0].codes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.spec)
			var fe *adapters.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("want field error on %s, got %v", tc.field, err)
			}
		})
	}
}

// FuzzLegacyDate feeds arbitrary text to the date conversion: it must never
// panic, and whatever it accepts must be a real date it prints canonically.
func FuzzLegacyDate(f *testing.F) {
	for _, s := range []string{"20180625", "2018/6/25", "2018年6月25日", "2018-06-25 10:00:00", "2018/2/30", "", "9999999999"} {
		f.Add(s)
	}
	m, err := New(Spec{Fields: []FieldSpec{{To: "d", Convert: "date"}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := m.Apply(adapters.Record{"d": s})
		if err != nil {
			return
		}
		d, ok := out["d"].(string)
		if !ok {
			return // empty input: field omitted
		}
		if _, perr := time.Parse("2006-01-02", d); perr != nil && len(d) == 10 {
			t.Fatalf("%q mapped to %q, which is not a date", s, d)
		}
	})
}
