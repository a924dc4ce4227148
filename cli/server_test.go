package cli

import (
	"bytes"
	"strings"
	"testing"

	"yiku/config"
	"yiku/demo"
	"yiku/hub"
)

// The dev banner names the console's address and which demo credential
// signs in as which role.
func TestWelcomeNamesTheConsole(t *testing.T) {
	creds := []demo.Credential{
		{Principal: "officer-gsc", Role: "officer", Kind: "token", Secret: "t1"},
		{Principal: "officer-lp", Role: "officer", Kind: "token", Secret: "t2"},
		{Principal: "reviewer", Role: "security_reviewer", Kind: "token", Secret: "t3"},
		{Principal: "psb-system", Role: "department_system", Kind: "api_key", Secret: "k1"},
	}
	var out bytes.Buffer
	printWelcome(&out, &config.Config{DataDir: t.TempDir()}, "127.0.0.1:8080", &hub.KafkaLogin{Brokers: []string{"127.0.0.1:9092"}, Protocol: "SASL_PLAINTEXT", Mechanism: "SCRAM-SHA-512", Username: "yiku"}, creds, true)
	s := out.String()
	for _, want := range []string{
		"Web console   http://127.0.0.1:8080/console/",
		"approval officer (窗口人员)",
		"officer-gsc, officer-lp",
		"security reviewer (安全审计员)",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("banner lacks %q:\n%s", want, s)
		}
	}
	// The names line up although the labels hold Chinese (two columns each).
	if padded("窗口", 6) != "窗口  " || padded("ab", 4) != "ab  " {
		t.Errorf("padded: %q %q", padded("窗口", 6), padded("ab", 4))
	}
	if strings.Contains(s, "department system") {
		t.Errorf("banner offers the console to systems:\n%s", s)
	}
}
