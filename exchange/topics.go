package exchange

import "strings"

// Topics names the hub's Kafka topics under one prefix.
type Topics struct{ Prefix string }

// Records is the topic of a resource's valid records.
func (t Topics) Records(resource string) string { return t.Prefix + ".records." + resource }

// Ingress is the topic a department's adapters produce raw records to.
func (t Topics) Ingress(department string) string { return t.Prefix + ".ingress." + department }

// DeadLetters is the topic of a department's refused ingress records.
func (t Topics) DeadLetters(department string) string { return t.Prefix + ".dlq." + department }

// Egress is a subscription's own delivery topic.
func (t Topics) Egress(subscription string) string { return t.Prefix + ".egress." + subscription }

// ResourceOf returns the resource of a records topic.
func (t Topics) ResourceOf(topic string) (string, bool) {
	return strings.CutPrefix(topic, t.Prefix+".records.")
}

// IngressDepartment returns the department of an ingress topic.
func (t Topics) IngressDepartment(topic string) (string, bool) {
	d, ok := strings.CutPrefix(topic, t.Prefix+".ingress.")
	return d, ok && d != ""
}
