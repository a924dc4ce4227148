package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"yiku/broker"
	"yiku/config"
	"yiku/demo"
	"yiku/exchange/loadgen"
	"yiku/hub"
	"yiku/lookup/lookupdemo"
)

func init() { extraCommands = append(extraCommands, newBenchCmd) }

func newBenchCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		hubURL, creds, dbURL, brokers, kinds string
		records, batch, clients, hubPID      int
		lookups                              int
		invalid                              float64
		skipBaselines                        bool
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load-test a hub on this machine: publish over HTTP, wait for the library, compare with raw baselines",
		Long: `bench publishes generated population and legal-entity records (valid check digits,
plus --invalid share of invalid ones) to a hub on a loopback address with --clients
concurrent clients, waits until the library has applied every accepted record, and
reports records/s, publish latency and the library's catch-up time. With
--database-url and --kafka-brokers it also measures, on the same data, validation
alone, a raw kafka-go produce and a raw batched PostgreSQL upsert, and prints each
hub/raw ratio. Credentials come from the hub's credentials.json (yiku bench hub or
yiku dev write it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			for _, u := range strings.Split(hubURL, ",") {
				if err := loadgen.CheckLoopback(strings.TrimSpace(u)); err != nil {
					return usageError{err}
				}
			}
			target, err := benchTarget(hubURL, creds)
			if err != nil {
				return err
			}
			if lookups > 0 {
				return benchLookups(ctx, stdout, target, creds, hubURL, lookups, clients)
			}
			var ks []loadgen.Kind
			for _, k := range strings.Split(kinds, ",") {
				switch loadgen.Kind(strings.TrimSpace(k)) {
				case loadgen.KindPopulation, loadgen.KindLegalEntity:
					ks = append(ks, loadgen.Kind(strings.TrimSpace(k)))
				default:
					return usageError{fmt.Errorf("--kinds: unknown kind %q (population, legal-entity)", k)}
				}
			}
			fmt.Fprintf(stdout, "yiku bench: %d records in batches of %d, %d clients, %.0f%% invalid, kinds %s, hub %s\n",
				records, batch, clients, invalid*100, kinds, hubURL)
			res, err := loadgen.Run(ctx, target, loadgen.LoadConfig{Kinds: ks, Records: records, Batch: batch, Clients: clients,
				InvalidShare: invalid, Seed: uint64(time.Now().UnixNano()), FirstSubject: int(time.Now().Unix()%100000) * 1000,
				Progress: stderr, CatchUpTimeout: 30 * time.Minute})
			if err != nil {
				return err
			}
			e2e := float64(res.Accepted) / res.EndToEnd.Seconds()
			fmt.Fprintf(stdout, "\nhub\n")
			fmt.Fprintf(stdout, "  published            %d records (%d accepted, %d rejected) in %d batches, %d retried after 429/503, %d failed\n", res.Published, res.Accepted, res.Rejected, res.Batches, res.Retried, res.Failed)
			fmt.Fprintf(stdout, "  publish              %.0f records/s over HTTP (%s)\n", float64(res.Published)/res.PublishDuration.Seconds(), res.PublishDuration.Round(time.Millisecond))
			fmt.Fprintf(stdout, "  publish latency      p50 %s  p99 %s  max %s per batch\n", res.P50.Round(time.Millisecond), res.P99.Round(time.Millisecond), res.PMax.Round(time.Millisecond))
			fmt.Fprintf(stdout, "  library catch-up     %s after the last publish\n", res.CatchUp.Round(time.Millisecond))
			fmt.Fprintf(stdout, "  end to end           %.0f accepted records/s (HTTP publish -> Kafka -> library applied)%s\n", e2e, cpuNote(res.Machine))
			switch {
			case res.SinkRate > 0 && res.Backlog >= minSinkBacklog:
				fmt.Fprintf(stdout, "  library sink         %.0f records/s working off a backlog of %d records after the last publish\n", res.SinkRate, res.Backlog)
			case res.Backlog > 0:
				fmt.Fprintf(stdout, "  library sink         %d records behind when the last publish was answered (too few to time the sink)\n", res.Backlog)
			default:
				fmt.Fprintf(stdout, "  library sink         kept up: no backlog when the last publish was answered\n")
			}
			if hubPID > 0 {
				if rss, err := peakRSS(hubPID); err == nil {
					fmt.Fprintf(stdout, "  hub peak RSS         %s\n", rss)
				}
			}
			if skipBaselines {
				return nil
			}
			return benchBaselines(ctx, stdout, ks, records, batch, clients, dbURL, brokers, e2e, res.SinkRate, res.Backlog, res.Machine)
		},
	}
	f := cmd.Flags()
	f.StringVar(&hubURL, "hub", benchEnv("YIKU_HUB", "http://127.0.0.1:8080"), "hub base URL (loopback only); several instances of one hub (same database and Kafka cluster) comma-separated: client c publishes to instance c mod n")
	f.StringVar(&creds, "credentials", "./.yiku/credentials.json", "the hub's demo credentials.json")
	f.StringVar(&dbURL, "database-url", os.Getenv("YIKU_DATABASE_URL"), "PostgreSQL URL of the hub's database, for the raw upsert baseline")
	f.StringVar(&brokers, "kafka-brokers", os.Getenv("YIKU_KAFKA_BROKERS"), "Kafka brokers, for the raw produce baseline")
	f.StringVar(&kinds, "kinds", "population,legal-entity", "record kinds to publish, comma-separated")
	f.IntVar(&records, "records", 100000, "records to publish")
	f.IntVar(&batch, "batch", 1000, "records per publish batch")
	f.IntVar(&clients, "clients", 4, "concurrent publishing clients")
	f.IntVar(&lookups, "lookups", 0, "instead of publishing, make this many lookups (an officer of the service centre asking for the demo citizen's social-security-card materials) and report lookups/s")
	f.IntVar(&hubPID, "hub-pid", 0, "process id of the hub, to report its peak RSS")
	f.Float64Var(&invalid, "invalid", 0.02, "share of invalid records (0..1)")
	f.BoolVar(&skipBaselines, "skip-baselines", false, "measure the hub only")
	cmd.AddCommand(newBenchHubCmd(stderr))
	return cmd
}

// benchLookups is bench --lookups: officer-gsc's lookups of the demo
// citizen for the social security card, from clients concurrent clients.
func benchLookups(ctx context.Context, w io.Writer, target loadgen.Target, credPath, hubURL string, lookups, clients int) error {
	officer, err := credentialSecret(credPath, "officer-gsc")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "yiku bench: %d lookups (%s of %s), %d clients, hub %s\n", lookups, lookupdemo.ItemSocialSecurity, lookupdemo.Citizen, clients, hubURL)
	res, err := loadgen.RunLookups(ctx, target, loadgen.LookupConfig{Lookups: lookups, Clients: clients, Officer: officer,
		Applicant: lookupdemo.Citizen, Item: lookupdemo.ItemSocialSecurity, Purpose: "社会保障卡申领"})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nlookups\n")
	fmt.Fprintf(w, "  answered             %d lookups (200) in %s, %d retried after 429/503, %d failed%s\n", res.Answered, res.Elapsed.Round(time.Millisecond), res.Retried, res.Failed, firstFailure(res.FirstFailure))
	fmt.Fprintf(w, "  lookups              %.0f lookups/s%s\n", res.Rate(), cpuNote(res.Machine))
	fmt.Fprintf(w, "  lookup latency       p50 %s  p99 %s  max %s\n", res.P50.Round(time.Millisecond), res.P99.Round(time.Millisecond), res.Max.Round(time.Millisecond))
	if res.Failed > 0 {
		return fmt.Errorf("bench: %d lookups failed (%s)", res.Failed, res.FirstFailure)
	}
	return nil
}

func firstFailure(s string) string {
	if s == "" {
		return ""
	}
	return " (first: " + s + ")"
}

// credentialSecret is principal's secret in the credentials file.
func credentialSecret(credPath, principal string) (string, error) {
	data, err := os.ReadFile(credPath)
	if err != nil {
		return "", usageError{fmt.Errorf("--credentials: %w", err)}
	}
	var creds []demo.Credential
	if err := json.Unmarshal(data, &creds); err != nil {
		return "", usageError{fmt.Errorf("--credentials %s: %w", credPath, err)}
	}
	for _, c := range creds {
		if c.Principal == principal && c.Kind != "kafka_sasl" {
			return c.Secret, nil
		}
	}
	return "", usageError{fmt.Errorf("--credentials %s: needs %s", credPath, principal)}
}

// minSinkBacklog is the smallest backlog whose working off times the sink:
// below it, the status polls and the sink's batch wait are too large a
// share of the time.
const minSinkBacklog = 50000

func benchBaselines(ctx context.Context, w io.Writer, kinds []loadgen.Kind, records, batch, clients int, dbURL, brokers string, e2e, sink float64, backlog int64, machine loadgen.Stage) error {
	n := min(records, 200000)
	var samples []loadgen.Sample
	for _, k := range kinds {
		s, err := loadgen.NewSample(k, n/len(kinds), 42)
		if err != nil {
			return err
		}
		samples = append(samples, s)
	}
	fmt.Fprintf(w, "\nraw baselines on the same machine (%d records)\n", n)
	var all loadgen.Sample
	all.Kind = kinds[0]
	var valid loadgen.Stage
	for _, s := range samples {
		st, err := loadgen.Validation(s)
		if err != nil {
			return err
		}
		valid.Records, valid.Elapsed, valid.CPU = valid.Records+st.Records, valid.Elapsed+st.Elapsed, valid.CPU+st.CPU
		all.Records = append(all.Records, s.Records...)
	}
	fmt.Fprintf(w, "  validation alone     %.0f records/s%s\n", valid.Rate(), cpuNote(valid))
	stages := []loadgen.Stage{valid}
	slowest, slowestName := valid.Rate(), "validation"
	if brokers != "" {
		topic := fmt.Sprintf("yiku-bench-raw-%d", time.Now().UnixNano())
		addrs := strings.Split(brokers, ",")
		bc := broker.New(broker.Config{Brokers: addrs, Partitions: 3, Replication: 1})
		defer bc.Close()
		if err := bc.EnsureTopics(ctx, topic); err != nil {
			return err
		}
		st, err := loadgen.KafkaProduce(ctx, bc, topic, all, batch, clients)
		// The scratch topic goes, measured or not, so runs do not pile up
		// partitions on the broker.
		if derr := bc.DeleteTopics(context.WithoutCancel(ctx), topic); derr != nil {
			fmt.Fprintf(w, "  (could not delete the scratch topic %s: %v)\n", topic, derr)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  raw kafka produce    %.0f records/s (kafka-go Writer, acks=all, lz4, topic %s)%s\n", st.Rate(), topic, cpuNote(st))
		stages = append(stages, st)
		if st.Rate() < slowest {
			slowest, slowestName = st.Rate(), "kafka produce"
		}
	}
	var pg float64
	if dbURL != "" {
		// Two raw forms of the same writes: multi-row INSERT statements on
		// one connection, and the sink's own array-parameter statements on
		// one connection per partition (three, the topics' default). The
		// faster is the baseline: a ratio against the slower form would
		// flatter the hub.
		multi, err := loadgen.PostgresUpsert(ctx, dbURL, all, 2000)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  raw pg upsert        %.0f records/s (multi-row INSERT ... ON CONFLICT, history + current, 2000 rows per transaction, 1 connection)%s\n", multi.Rate(), cpuNote(multi))
		arrays, err := loadgen.PostgresUpsertArrays(ctx, dbURL, all, 2000, 3)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  raw pg upsert        %.0f records/s (the sink's array-parameter statements, 2000 rows per transaction, 3 connections)%s\n", arrays.Rate(), cpuNote(arrays))
		best := multi
		if arrays.Rate() > multi.Rate() {
			best = arrays
		}
		pg = best.Rate()
		stages = append(stages, best)
		if pg < slowest {
			slowest, slowestName = pg, "postgres upsert"
		}
	}
	fmt.Fprintf(w, "\nratios\n")
	fmt.Fprintf(w, "  end to end / slowest raw stage (%s)   %.2f   (target >= 0.70)\n", slowestName, e2e/slowest)
	fmt.Fprintf(w, "  end to end / validation alone          %.2f\n", e2e/valid.Rate())
	switch {
	case pg > 0 && sink > 0 && backlog >= minSinkBacklog:
		fmt.Fprintf(w, "  library sink / raw pg upsert           %.2f   (target >= 0.80; working off a backlog of %d records)\n", sink/pg, backlog)
	case pg > 0:
		fmt.Fprintf(w, "  library sink / raw pg upsert           not measured here: the backlog after the last publish (%d records) is too small\n"+
			"                                         to time the sink (at least %d); BenchmarkSinkAgainstRawUpsert times it on 100,000\n", backlog, minSinkBacklog)
	}
	// On one machine the stages share its cores: a pipeline doing every
	// raw stage's work, each at its raw CPU cost, needs their sum per
	// record, which caps its rate at cores / sum whatever its design.
	var sum time.Duration
	for _, st := range stages {
		if st.CPUPerRecord() == 0 {
			return nil
		}
		sum += st.CPUPerRecord()
	}
	cores := runtime.NumCPU()
	if n := loadgen.MachineCPUs(); n != cores {
		// A container or CPU quota: /proc/stat counts another machine's
		// cores than this process may use, so no estimate.
		return nil
	}
	bound := float64(cores) / sum.Seconds()
	fmt.Fprintf(w, "\nshared cores (estimates: machine-wide CPU, other work on the machine included)\n")
	fmt.Fprintf(w, "  raw stages' CPU per record, summed     %s\n", sum.Round(100*time.Nanosecond))
	fmt.Fprintf(w, "  => a pipeline doing all of them on these %d cores at those costs: about %.0f records/s = %.2f x the slowest raw stage\n", cores, bound, bound/slowest)
	if machine.CPUPerRecord() > 0 {
		fmt.Fprintf(w, "  end to end, whole machine              %s per accepted record (hub, PostgreSQL, Kafka and this tool; %.1f cores busy)\n",
			machine.CPUPerRecord().Round(100*time.Nanosecond), machine.Cores())
	}
	return nil
}

// cpuNote describes a stage's CPU use, or nothing where it is unknown.
func cpuNote(st loadgen.Stage) string {
	if st.CPU == 0 {
		return ""
	}
	return fmt.Sprintf("  [%s CPU/record, %.1f cores]", st.CPUPerRecord().Round(100*time.Nanosecond), st.Cores())
}

func benchTarget(hubURL, credPath string) (loadgen.Target, error) {
	data, err := os.ReadFile(credPath)
	if err != nil {
		return loadgen.Target{}, usageError{fmt.Errorf("--credentials: %w", err)}
	}
	var creds []demo.Credential
	if err := json.Unmarshal(data, &creds); err != nil {
		return loadgen.Target{}, usageError{fmt.Errorf("--credentials %s: %w", credPath, err)}
	}
	urls := strings.Split(hubURL, ",")
	for i, u := range urls {
		urls[i] = strings.TrimRight(strings.TrimSpace(u), "/")
	}
	t := loadgen.Target{Hub: urls[0], More: urls[1:], Tokens: map[string]string{}}
	for _, c := range creds {
		switch c.Principal {
		case "psb-system":
			t.Tokens[string(loadgen.KindPopulation)] = c.Secret
		case "amr-system":
			t.Tokens[string(loadgen.KindLegalEntity)] = c.Secret
		case "catalog-admin":
			t.Reader = c.Secret
		}
	}
	if t.Reader == "" || len(t.Tokens) < 2 {
		return t, usageError{fmt.Errorf("--credentials %s: needs psb-system, amr-system and catalog-admin", credPath)}
	}
	return t, nil
}

// peakRSS reads a process's high-water resident set size from /proc.
func peakRSS(pid int) (string, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("no VmHWM for %d", pid)
}

// newBenchHubCmd runs a serve-mode hub (real PostgreSQL and Kafka) seeded
// with the demo district, for load tests and crash tests.
func newBenchHubCmd(stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hub",
		Short: "Run a hub on real PostgreSQL and Kafka seeded with demo data, for load and crash tests",
		Args:  cobra.NoArgs,
	}
	config.Flags(cmd.Flags(), config.ModeServe)
	var dataDir, cpuProfile string
	var deleteTopics bool
	cmd.Flags().StringVar(&dataDir, "data-dir", "./.yiku-bench", "where credentials.json is written")
	cmd.Flags().BoolVar(&deleteTopics, "delete-topics", false, "delete the Kafka topics under --topic-prefix when the hub stops (the prefix must contain \"bench\", so a real hub's topics are never touched)")
	cmd.Flags().StringVar(&cpuProfile, "cpu-profile", "", "write a CPU profile of the hub's whole run to this file (pprof format)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := config.Load(cmd.Flags(), config.ModeServe)
		if err != nil {
			return err
		}
		if deleteTopics && !strings.Contains(cfg.TopicPrefix, "bench") {
			return usageError{fmt.Errorf("--delete-topics: the topic prefix %q does not contain \"bench\"; a prefix a real hub may use is never deleted", cfg.TopicPrefix)}
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return err
		}
		log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
		if cpuProfile != "" {
			f, err := os.Create(cpuProfile)
			if err != nil {
				return usageError{fmt.Errorf("--cpu-profile: %w", err)}
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return fmt.Errorf("cpu profile: %w", err)
			}
			defer pprof.StopCPUProfile()
		}
		ctx := cmd.Context()
		h, err := hub.Open(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer h.Close()
		if _, _, err := demo.Seed(ctx, dataDir, h.Auth, h.Identity, 24*time.Hour, demoSeeders(h)...); err != nil {
			return err
		}
		ready := make(chan string, 1)
		go func() {
			if addr, ok := <-ready; ok {
				fmt.Fprintf(stderr, "yiku bench hub: listening on http://%s, credentials in %s\n", addr, dataDir)
			}
		}()
		err = h.Run(ctx, ready)
		if deleteTopics {
			// A throwaway bench hub's topics go with it, so repeated runs do
			// not pile up partitions on a shared broker.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			n, derr := h.Broker.DeleteTopicsWithPrefix(dctx, cfg.TopicPrefix)
			cancel()
			if derr != nil {
				fmt.Fprintf(stderr, "yiku bench hub: deleting the topics under %s: %v\n", cfg.TopicPrefix, derr)
			} else {
				fmt.Fprintf(stderr, "yiku bench hub: deleted %d topics under %s\n", n, cfg.TopicPrefix)
			}
		}
		return err
	}
	return cmd
}

func benchEnv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
