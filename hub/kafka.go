package hub

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"yiku/broker"
	"yiku/config"
)

// KafkaLogin is how a Kafka client logs in to the dev hub's embedded
// broker as its super user (kcat: -X security.protocol=SASL_PLAINTEXT
// -X sasl.mechanisms=<Mechanism> -X sasl.username=… -X sasl.password=…).
type KafkaLogin struct {
	Brokers   []string `json:"brokers"`
	Protocol  string   `json:"security_protocol"`
	Mechanism string   `json:"sasl_mechanism"`
	Username  string   `json:"username"`
	Password  string   `json:"password"`
	// PasswordFile holds Password (mode 0600).
	PasswordFile string `json:"password_file"`
}

// devKafkaUser is the embedded broker's super user in dev mode.
const devKafkaUser = "yiku"

// devKafkaLogin reads the embedded broker's super user password from the
// data dir, creating it (random, mode 0600) on the first start.
func devKafkaLogin(dataDir string) (*KafkaLogin, error) {
	path := filepath.Join(dataDir, "kafka-password")
	login := &KafkaLogin{Protocol: "SASL_PLAINTEXT", Mechanism: broker.SCRAMSHA512, Username: devKafkaUser, PasswordFile: path}
	pw, err := broker.ReadPasswordFile(path)
	if err == nil {
		login.Password = pw
		return login, nil
	}
	if _, serr := os.Stat(path); !errors.Is(serr, os.ErrNotExist) {
		return nil, fmt.Errorf("hub: Kafka password: %w", err)
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("hub: Kafka password entropy: %w", err)
	}
	login.Password = hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(login.Password+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("hub: write Kafka password %s: %w", path, err)
	}
	return login, nil
}

// kafkaSecurity builds the serve mode's Kafka security from cfg; problems
// are configuration errors naming the setting (config.Validate has already
// checked most of them).
func kafkaSecurity(cfg *config.Config) (broker.Security, error) {
	sec, err := broker.NewSecurity(broker.SecuritySettings{
		Mechanism: cfg.KafkaSASLMechanism, Username: cfg.KafkaUsername, PasswordFile: cfg.KafkaPasswordFile,
		TLS: cfg.KafkaTLS, CAFile: cfg.KafkaCAFile, CertFile: cfg.KafkaCertFile, KeyFile: cfg.KafkaKeyFile, ServerName: cfg.KafkaTLSServerName,
	})
	if err != nil {
		setting := "--kafka-sasl-mechanism"
		if cfg.KafkaTLS {
			setting = "--kafka-tls"
		}
		return broker.Security{}, &config.Error{Setting: setting, Problem: oneLine(err)}
	}
	return sec, nil
}
