package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// TestApiVersionsListsHandshakeFromZero: the broker's ApiVersions answer
// lists SaslHandshake from version 0 (as Apache Kafka does), also to a
// client that has not logged in yet.
func TestApiVersionsListsHandshakeFromZero(t *testing.T) {
	b, err := Start("127.0.0.1:0", "", 1, Superuser("SCRAM-SHA-512", "yiku", "pw-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := (&kafka.Client{Addr: kafka.TCP(b.Addr())}).ApiVersions(ctx, &kafka.ApiVersionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, k := range resp.ApiKeys {
		if k.ApiKey == saslHandshakeKey {
			found = true
			if k.MinVersion != 0 || k.MaxVersion != 1 {
				t.Fatalf("SaslHandshake versions %d..%d, want 0..1", k.MinVersion, k.MaxVersion)
			}
		}
	}
	if !found || len(resp.ApiKeys) < 40 {
		t.Fatalf("SaslHandshake listed: %v, %d keys", found, len(resp.ApiKeys))
	}
}

// TestKcatLogsInAndAnonymousIsRefused runs kcat (when installed) the way
// the README shows: with the super user's login it lists the broker; with
// no login or a wrong password it gets nothing.
func TestKcatLogsInAndAnonymousIsRefused(t *testing.T) {
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Skip("kcat is not installed")
	}
	for _, mech := range []string{"SCRAM-SHA-512", "PLAIN"} {
		t.Run(mech, func(t *testing.T) {
			b, err := Start("127.0.0.1:0", "", 1, Superuser(mech, "yiku", "pw-0123456789"))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			kcat := func(args ...string) (string, error) {
				out, err := exec.Command("kcat", append(append([]string{"-b", b.Addr()}, args...), "-L", "-m", "3")...).CombinedOutput()
				return string(out), err
			}
			login := []string{"-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=" + mech, "-X", "sasl.username=yiku"}
			if out, err := kcat(append(login, "-X", "sasl.password=pw-0123456789")...); err != nil || !strings.Contains(out, "1 brokers") {
				t.Fatalf("with the login: %v\n%s", err, out)
			}
			if out, err := kcat(); err == nil || strings.Contains(out, "1 brokers") {
				t.Fatalf("anonymous: %v\n%s", err, out)
			}
			if out, err := kcat(append(login, "-X", "sasl.password=wrong")...); err == nil || strings.Contains(out, "1 brokers") {
				t.Fatalf("wrong password: %v\n%s", err, out)
			}
		})
	}
}

// TestPatchHandshakeMin: v0 and v3 (flexible) ApiVersions bodies get
// SaslHandshake's minimum lowered; other keys and unknown layouts stay.
func TestPatchHandshakeMin(t *testing.T) {
	entry := func(key, lo, hi int16, flexible bool) []byte {
		b := binary.BigEndian.AppendUint16(nil, uint16(key))
		b = binary.BigEndian.AppendUint16(b, uint16(lo))
		b = binary.BigEndian.AppendUint16(b, uint16(hi))
		if flexible {
			b = append(b, 0)
		}
		return b
	}
	body := func(flexible bool, entries ...[]byte) []byte {
		b := []byte{0, 0} // error code
		if flexible {
			b = binary.AppendUvarint(b, uint64(len(entries)+1))
		} else {
			b = binary.BigEndian.AppendUint32(b, uint32(len(entries)))
		}
		for _, e := range entries {
			b = append(b, e...)
		}
		return b
	}
	for _, flexible := range []bool{false, true} {
		version := int16(0)
		if flexible {
			version = 3
		}
		got := body(flexible, entry(0, 0, 11, flexible), entry(17, 1, 1, flexible), entry(36, 0, 2, flexible))
		patchHandshakeMin(got, version)
		want := body(flexible, entry(0, 0, 11, flexible), entry(17, 0, 1, flexible), entry(36, 0, 2, flexible))
		if !bytes.Equal(got, want) {
			t.Errorf("v%d: got %x, want %x", version, got, want)
		}
	}
	// A tagged field it does not know stops the patch: nothing changes.
	odd := body(true, append(entry(0, 0, 11, false), 1), entry(17, 1, 1, true))
	before := append([]byte(nil), odd...)
	patchHandshakeMin(odd, 3)
	if !bytes.Equal(odd, before) {
		t.Error("patched a body with unknown tagged fields")
	}
	patchHandshakeMin(nil, 3) // must not panic
	patchHandshakeMin([]byte{0}, 0)
}

// TestFrameScannerSplitReads: request headers are found however the
// stream is cut.
func TestFrameScannerSplitReads(t *testing.T) {
	frame := func(key, version int16, corr int32, rest int) []byte {
		payload := binary.BigEndian.AppendUint16(nil, uint16(key))
		payload = binary.BigEndian.AppendUint16(payload, uint16(version))
		payload = binary.BigEndian.AppendUint32(payload, uint32(corr))
		payload = append(payload, make([]byte, rest)...)
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
	}
	stream := append(append(frame(18, 3, 7, 20), frame(3, 12, 8, 0)...), frame(18, 0, 9, 5)...)
	for _, chunk := range []int{1, 3, 7, len(stream)} {
		var s frameScanner
		var got []string
		for p := stream; len(p) > 0; {
			n := min(chunk, len(p))
			s.feed(p[:n], func(h []byte) {
				got = append(got, string(rune('0'+binary.BigEndian.Uint16(h)%10))+":"+string(rune('0'+binary.BigEndian.Uint32(h[4:]))))
			})
			p = p[n:]
		}
		if strings.Join(got, ",") != "8:7,3:8,8:9" {
			t.Errorf("chunks of %d: %v", chunk, got)
		}
	}
}
