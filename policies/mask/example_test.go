package mask_test

import (
	"fmt"

	"yiku/policies/mask"
)

func Example() {
	fields := []mask.Field{
		{Name: "id_number", Rule: mask.RuleIDNumber, Sensitive: true},
		{Name: "name", Rule: mask.RuleName, Sensitive: true},
		{Name: "mobile", Rule: mask.RuleMobile, Sensitive: true},
		{Name: "religion", Sensitive: true}, // no rule: redacted
		{Name: "gender"},
	}
	// The grant: four fields, the mobile number in plain text.
	plan, err := mask.NewPlan(fields, []string{"id_number", "name", "mobile", "religion"}, []string{"mobile"}, nil)
	if err != nil {
		panic(err)
	}
	out, err := plan.ApplyJSON([]byte(`{"id_number":"11010519491231002X","name":"张三丰",` +
		`"mobile":"13800138000","religion":"x","gender":"1"}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
	for _, f := range plan.Fields() {
		fmt.Printf("%s rule=%s masked=%t plain=%t\n", f.Name, f.Rule, f.Masked, f.Plain)
	}
	// Output:
	// {"id_number":"110105********002X","mobile":"13800138000","name":"张**","religion":"***"}
	// id_number rule=id_number masked=true plain=false
	// mobile rule=none masked=false plain=true
	// name rule=name masked=true plain=false
	// religion rule=redact masked=true plain=false
}

func ExampleValue() {
	for _, c := range []struct {
		rule  mask.Rule
		value string
	}{
		{mask.RuleIDNumber, "11010519491231002X"},
		{mask.RuleMobile, "13800138000"},
		{mask.RuleName, "李四"},
		{mask.RuleAddress, "北京市朝阳区建国路88号"},
		{mask.RuleUSCC, "91350100M000100Y43"},
		{mask.RuleEmail, "zhangsan@example.gov.cn"},
		{mask.RuleDate, "1985-03-12"},
		{mask.RuleRedact, "anything"},
	} {
		v, err := mask.Value(c.rule, c.value, nil)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%-10s %s\n", c.rule, v)
	}
	// Output:
	// id_number  110105********002X
	// mobile     138****8000
	// name       李*
	// address    北京市朝阳区******
	// uscc       91350100********43
	// email      z***@example.gov.cn
	// date       1985-**-**
	// redact     ***
}
