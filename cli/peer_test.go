package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"yiku/federation/peer"
	"yiku/hub/hubtest"
)

func TestPeerCommands(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append([]string{"peer"}, args...), &out, &errb)
		return out.String() + errb.String(), code
	}
	cf, kf := filepath.Join(dir, "hub.crt"), filepath.Join(dir, "hub.key")
	out, code := run("cert", "--cert-file", cf, "--key-file", kf, "--name", "yiku-431302")
	if code != 0 {
		t.Fatalf("cert: %d %s", code, out)
	}
	fp, err := peer.LoadPin(cf)
	if err != nil || !strings.Contains(out, "fingerprint "+fp) {
		t.Fatalf("cert printed %q; pin %s %v", out, fp, err)
	}
	if out, code := run("cert", "--cert-file", cf, "--key-file", kf, "--name", "again"); code == 0 {
		t.Fatalf("cert over existing files: %d %s", code, out)
	}
	if out, code := run("cert", "--cert-file", cf); code != 2 {
		t.Fatalf("cert without flags: %d %s", code, out)
	}

	// A hub without --federation-hub: status answers, requests are refused.
	h := hubtest.Start(t)
	hub := func(principal string, args ...string) (string, int) {
		return run(append(args, "--hub", h.URL, "--token", h.Secret(principal))...)
	}
	if out, code := hub("catalog-admin", "status"); code != 0 || !strings.Contains(out, `"fingerprint"`) {
		t.Fatalf("status: %d %s", code, out)
	}
	if out, code := hub("catalog-admin", "request"); code == 0 || !strings.Contains(out, "federation_off") {
		t.Fatalf("request on a hub that is not federated: %d %s", code, out)
	}
	if out, code := hub("officer-gsc", "directory"); code != 0 || !strings.Contains(out, `"entries": []`) {
		t.Fatalf("directory: %d %s", code, out)
	}
	if out, code := hub("admin-gsc", "share-request", "--resource", "x"); code != 2 {
		t.Fatalf("share-request without flags: %d %s", code, out)
	}
}
