package federation_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"yiku/broker"
	"yiku/broker/brokertest"
	"yiku/catalog"
	"yiku/catalog/seed"
	"yiku/demo"
	"yiku/federation"
	"yiku/lookup/lookupdemo"
)

// EnvMirror turns on the MirrorMaker test: it needs the two real clusters
// (YIKU_TEST_KAFKA_* for the district, YIKU_TEST_CITY_KAFKA_* for the city,
// both from deployments/local/kafka-up.sh) and starts MirrorMaker 2 with
// deployments/local/mirrormaker-up.sh.
const EnvMirror = "YIKU_TEST_MM2"

func localScript(t *testing.T, name string, env ...string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "deployments", "local", name)
	cmd := exec.Command(script)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("%s: %v\n%s", name, err, ee.Stderr)
		}
		t.Fatalf("%s: %v", name, err)
	}
	return string(out)
}

// partitionLog reads every committed record of topic, partition by
// partition, until want records in all and two quiet seconds, or quiet
// without any. It reads with franz-go, which filters the records of aborted
// transactions under read_committed (kafka-go does not): MirrorMaker writes
// in transactions, and a batch it retried after a restart is there twice,
// once aborted.
func partitionLog(t *testing.T, k *brokertest.Kafka, topic string, want int, quiet time.Duration) map[int][]*kgo.Record {
	t.Helper()
	pw, err := broker.ReadPasswordFile(k.Settings.PasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DialTLSConfig(k.Security.TLS()),
		kgo.SASL(scram.Auth{User: k.Settings.Username, Pass: pw}.AsSha512Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	out := map[int][]*kgo.Record{}
	total := 0
	last := time.Now()
	for time.Since(last) < quiet {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			out[int(r.Partition)] = append(out[int(r.Partition)], r)
			total++
			last = time.Now()
		})
		if total >= want && time.Since(last) > 2*time.Second {
			break
		}
	}
	return out
}

func marriage(subject, spouse string, i int) map[string]any {
	return map[string]any{"registration_number": fmt.Sprintf("L431302-2026-%06d", i), "registration_type": "marriage", "id_number": subject,
		"name": "测试", "spouse_id_number": spouse, "spouse_name": "测试配偶", "registration_date": "2026-01-02", "registration_office": "娄星区民政局婚姻登记处"}
}

// TestMirrorMakerCarriesUpwardRecords: the records of a resource marked for
// upward sharing reach the city's cluster through MirrorMaker 2 (topic
// district.<topic>), partition by partition in the district's order, once,
// also when MirrorMaker is stopped mid-stream and started again; a resource
// not marked never appears there. Both hubs have data key files: the
// copies carry the district's sealed fields and subject pseudonyms, the
// district hands the city its data keys of the resource, and the city
// stores the records re-sealed under its own keys.
func TestMirrorMakerCarriesUpwardRecords(t *testing.T) {
	if os.Getenv(EnvMirror) == "" {
		t.Skipf("set %s=1 with the two clusters of deployments/local (docs/federation.md)", EnvMirror)
	}
	district := brokertest.Start(t)
	city := brokertest.StartEnv(t, "YIKU_TEST_CITY_KAFKA")
	if district.Embedded || city.Embedded {
		t.Skip("needs two real clusters: YIKU_TEST_KAFKA_* and YIKU_TEST_CITY_KAFKA_*")
	}
	pr := startPair(t)
	if pr.district.Keys == nil || pr.city.Keys == nil {
		t.Fatal("both hubs need a data key file")
	}
	pr.peer(t)
	h := pr.district
	if r := h.Do("PUT", "/api/v1/federation/upward/"+seed.MarriageRegistration, "admin-civil", nil); r.Status != http.StatusOK {
		t.Fatalf("mark: %d %s", r.Status, r.Body)
	}
	var self struct {
		Topics []string `json:"upward_topics"`
		Mirror string   `json:"mirror_topics"`
	}
	h.Do("GET", "/api/v1/federation", "catalog-admin", nil).JSON(t, &self)
	src := h.Cfg.TopicPrefix + ".records." + seed.MarriageRegistration
	if len(self.Topics) != 1 || self.Topics[0] != src || self.Mirror == "" {
		t.Fatalf("mirror topics: %+v, want only %s", self, src)
	}
	// The city keeps the district's resource under an id of its own,
	// provided by the civil affairs bureau's stand-in department.
	cityID := federation.MirrorResourceID(districtHub, seed.MarriageRegistration)
	ctx := context.Background()
	eventually(t, "the city registers the district's resource", func() bool {
		r, err := pr.city.Catalog.Resource(ctx, cityID)
		return err == nil && r.ProviderCode == districtHub+"_"+demo.DeptCivil && r.Status == catalog.StatusPublished
	})
	publish := func(from, n int) {
		t.Helper()
		var recs []map[string]any
		for i := from; i < from+n; i++ {
			// Three subjects, each with a run of versions.
			subj := []string{lookupdemo.Citizen, lookupdemo.Citizen2, lookupdemo.Spouse}[i%3]
			recs = append(recs, marriage(subj, lookupdemo.Citizen, i))
		}
		if r := h.Do("POST", "/api/v1/resources/"+seed.MarriageRegistration+"/records", "civil-system", recs); r.Status != http.StatusOK {
			t.Fatalf("publish: %d %s", r.Status, r.Body)
		}
	}
	name := "mirrormaker-" + strings.ToLower(strings.ReplaceAll(h.Cfg.TopicPrefix, ".", "-"))
	// The source cluster's alias is the district hub's id: the copied
	// topic names its origin, and the city's mirror sink finds it.
	env := []string{"YIKU_MM2_SOURCE_BROKERS=" + strings.Join(district.Brokers, ","), "YIKU_MM2_TARGET_BROKERS=" + strings.Join(city.Brokers, ","),
		"YIKU_MM2_TOPICS=" + self.Mirror, "YIKU_MM2_DIR=" + name, "YIKU_MM2_SOURCE_ALIAS=" + districtHub}
	t.Cleanup(func() {
		localScript(t, "mirrormaker-down.sh", "YIKU_MM2_DIR="+name)
		_, file, _, _ := runtime.Caller(0)
		run := filepath.Join(filepath.Dir(file), "..", "deployments", "local", ".run")
		_ = os.RemoveAll(filepath.Join(run, name))
		_ = os.Remove(filepath.Join(run, name+".lock"))
	})

	// The demo seeded records of its own into the topic.
	seeded := count(partitionLog(t, district, src, 1, 5*time.Second))
	const first, second = 60, 45
	publish(0, first)
	start := time.Now()
	localScript(t, "mirrormaker-up.sh", env...)
	dst := districtHub + "." + src
	cityClient := city.Client(t)
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(time.Second) {
		if _, err := cityClient.Partitions(ctx, dst); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("MirrorMaker made no %s in the city cluster within 3 minutes", dst)
		}
	}
	got := partitionLog(t, city, dst, seeded+first, 60*time.Second)
	t.Logf("first %d records at the city after %v", count(got), time.Since(start).Round(time.Millisecond))

	// The link is cut mid-stream: MirrorMaker stops, the district goes on
	// publishing, MirrorMaker starts again and catches up.
	localScript(t, "mirrormaker-down.sh", "YIKU_MM2_DIR="+name)
	publish(first, second)
	restart := time.Now()
	localScript(t, "mirrormaker-up.sh", env...)
	got = partitionLog(t, city, dst, seeded+first+second, 90*time.Second)
	t.Logf("all %d records at the city %v after the restart", count(got), time.Since(restart).Round(time.Millisecond))

	total := seeded + first + second
	// The city's broker stops mid-stream (with YIKU_TEST_CITY_KAFKA_DIR and
	// _PORT naming the kafka-up.sh cluster it is): the district goes on
	// publishing; MirrorMaker and the city hub wait; the broker starts
	// again on its data and everything arrives, once.
	if dir, port := os.Getenv("YIKU_TEST_CITY_KAFKA_DIR"), os.Getenv("YIKU_TEST_CITY_KAFKA_PORT"); dir != "" && port != "" {
		const third = 30
		cityEnv := []string{"YIKU_KAFKA_DIR=" + dir, "YIKU_KAFKA_PORT=" + port}
		localScript(t, "kafka-down.sh", cityEnv...)
		down := time.Now()
		publish(first+second, third)
		time.Sleep(10 * time.Second)
		localScript(t, "kafka-up.sh", cityEnv...)
		t.Logf("the city broker was down %v while the district published %d records", time.Since(down).Round(time.Second), third)
		total += third
		got = partitionLog(t, city, dst, total, 120*time.Second)
		t.Logf("all %d records at the city %v after the city broker came back", count(got), time.Since(down).Round(time.Millisecond))
	}

	// Ground truth: the district topic, partition by partition.
	want := partitionLog(t, district, src, total, 10*time.Second)
	if count(want) != total {
		t.Fatalf("district topic holds %d records, want %d", count(want), total)
	}
	for p, ws := range want {
		gs := got[p]
		if len(gs) != len(ws) {
			t.Fatalf("partition %d: %d records at the city, %d at the district (lost or duplicated)", p, len(gs), len(ws))
		}
		for i := range ws {
			if string(gs[i].Key) != string(ws[i].Key) || string(gs[i].Value) != string(ws[i].Value) {
				t.Fatalf("partition %d offset %d: the city's record differs from the district's (order or content)", p, i)
			}
		}
	}
	// The city's library applied them like its own records: the same
	// versions of each subject in the same order, once, published by the
	// origin department's stand-in, opened with the district's keys and
	// sealed again under the city's.
	eventually(t, "the city library applies every copied record", func() bool {
		_, versions, err := pr.city.Library.Counts(ctx, cityID)
		return err == nil && versions == int64(total)
	})
	checkCityCopies(t, ctx, pr, cityID, []string{lookupdemo.Citizen, lookupdemo.Citizen2, lookupdemo.Spouse})
	t.Logf("the city library holds all %d versions, per subject in the district's order", total)

	// A resource nobody marked never crosses: the demo population records
	// are in the district cluster, not in the city's.
	conn, err := city.Security.Dialer("fed-test").DialContext(ctx, "tcp", city.Brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		if strings.HasPrefix(p.Topic, districtHub+".") && p.Topic != dst && strings.Contains(p.Topic, h.Cfg.TopicPrefix) {
			t.Fatalf("topic %s crossed without an upward share", p.Topic)
		}
	}
}

func count(m map[int][]*kgo.Record) int {
	n := 0
	for _, ms := range m {
		n += len(ms)
	}
	return n
}
