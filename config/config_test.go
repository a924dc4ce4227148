package config_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"yiku/config"
	"yiku/cryptosuite"
	"yiku/hub/hubtest"
)

// load parses args as `yiku serve` flags with the settings serve needs.
func load(t *testing.T, args ...string) (*config.Config, error) {
	t.Helper()
	dir := t.TempDir()
	hubtest.WriteKeys(t, dir, cryptosuite.Default)
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	config.Flags(fs, config.ModeServe)
	base := []string{"--database-url", "postgres://u:p@127.0.0.1:5432/db", "--kafka-brokers", "127.0.0.1:9092",
		"--jwt-key-file", filepath.Join(dir, "jwt.pem"), "--secret-key-file", filepath.Join(dir, "secret.key")}
	if err := fs.Parse(append(base, args...)); err != nil {
		t.Fatal(err)
	}
	return config.Load(fs, config.ModeServe)
}

func TestTopicReplicationDefaultsToTheCluster(t *testing.T) {
	cfg, err := load(t)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TopicReplication != 0 || cfg.TopicMinInSync != 0 {
		t.Fatalf("defaults: replication %d, min.insync.replicas %d; want 0 and 0 (derived from the cluster)", cfg.TopicReplication, cfg.TopicMinInSync)
	}
	cfg, err = load(t, "--topic-replication", "3", "--topic-min-insync-replicas", "2")
	if err != nil || cfg.TopicReplication != 3 || cfg.TopicMinInSync != 2 {
		t.Fatalf("explicit: %+v %v", cfg, err)
	}
}

func TestTopicReplicationIsChecked(t *testing.T) {
	for _, c := range []struct {
		args    []string
		setting string
	}{
		{[]string{"--topic-replication", "-1"}, "--topic-replication"},
		{[]string{"--topic-replication", "8"}, "--topic-replication"},
		{[]string{"--topic-min-insync-replicas", "-1"}, "--topic-min-insync-replicas"},
		{[]string{"--topic-replication", "2", "--topic-min-insync-replicas", "3"}, "--topic-min-insync-replicas"},
	} {
		_, err := load(t, c.args...)
		if err == nil || !config.IsError(err) || !strings.Contains(err.Error(), c.setting) {
			t.Errorf("%v: %v, want a configuration error naming %s", c.args, err, c.setting)
		}
	}
}
