// Package runtime runs a department's adapter: it loads and lints an
// adapter.yaml (errors name the line), builds each pipeline's source,
// mapping and sink from the connector registry, and runs the pipelines with
// local checkpoints, a reject file, back-off, Prometheus metrics and a
// terminal progress line. It holds no connector (adapters/connectors).
package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"yiku/adapters"
	// The standard connectors register themselves.
	_ "yiku/adapters/connectors"
	"yiku/adapters/mapping"
	"yiku/broker"
)

// Config is an adapter.yaml.
type Config struct {
	// Department is the code of the department the adapter runs for.
	Department string     `yaml:"department"`
	Hub        *HubConfig `yaml:"hub"`
	// StateDir keeps checkpoints and reject files (default .yiku-adapter
	// next to the config).
	StateDir string `yaml:"state_dir"`
	// MetricsAddr serves /metrics (e.g. 127.0.0.1:9464); empty = off.
	MetricsAddr string     `yaml:"metrics_addr"`
	Pipelines   []Pipeline `yaml:"pipelines"`

	path string
	file *ast.File
}

// HubConfig locates the hub and the credential.
type HubConfig struct {
	URL string `yaml:"url"`
	// Exactly one of Token, TokenEnv and Credentials gives the API key.
	Token    string `yaml:"token"`
	TokenEnv string `yaml:"token_env"`
	// Credentials reads the key from a credentials.json as `yiku dev`
	// writes it, for the named principal.
	Credentials *CredentialsRef `yaml:"credentials"`
	Kafka       *KafkaConfig    `yaml:"kafka"`
}

// CredentialsRef names a principal in a credentials.json.
type CredentialsRef struct {
	File      string `yaml:"file"`
	Principal string `yaml:"principal"`
}

// KafkaConfig locates the hub's Kafka for the hub_kafka sink and holds the
// department's login there: a SASL user (the hub's admin creates it) with
// its password from a file or an environment variable, over TLS with an
// optional CA and client certificate.
type KafkaConfig struct {
	Brokers       []string `yaml:"brokers"`
	TopicPrefix   string   `yaml:"topic_prefix"`
	SASLMechanism string   `yaml:"sasl_mechanism"`
	Username      string   `yaml:"username"`
	PasswordFile  string   `yaml:"password_file"`
	PasswordEnv   string   `yaml:"password_env"`
	TLS           bool     `yaml:"tls"`
	CAFile        string   `yaml:"ca_file"`
	CertFile      string   `yaml:"cert_file"`
	KeyFile       string   `yaml:"key_file"`
	ServerName    string   `yaml:"server_name"`
}

// Security builds the department's Kafka login, with paths relative to
// dir. With readEnv false (lint) a password_env is not read: the variable
// may be set only where the adapter runs. Errors never contain the password.
func (k *KafkaConfig) Security(dir string, readEnv bool) (broker.Security, error) {
	path := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	s := broker.SecuritySettings{Mechanism: strings.ToUpper(k.SASLMechanism), Username: k.Username, PasswordFile: path(k.PasswordFile),
		TLS: k.TLS, CAFile: path(k.CAFile), CertFile: path(k.CertFile), KeyFile: path(k.KeyFile), ServerName: k.ServerName}
	if s.Mechanism == broker.Plain && !s.TLS {
		return broker.Security{}, errors.New("hub.kafka: PLAIN sends the password as it is: use it only with tls: true")
	}
	if k.PasswordEnv != "" {
		if k.PasswordFile != "" {
			return broker.Security{}, errors.New("hub.kafka: set password_file or password_env, not both")
		}
		s.Password = "lint-only"
		if readEnv {
			if s.Password = os.Getenv(k.PasswordEnv); s.Password == "" {
				return broker.Security{}, fmt.Errorf("hub.kafka: environment variable %s (password_env) is empty", k.PasswordEnv)
			}
		}
	}
	sec, err := broker.NewSecurity(s)
	if err != nil {
		return broker.Security{}, fmt.Errorf("hub.kafka: %s", strings.TrimPrefix(err.Error(), "broker: "))
	}
	return sec, nil
}

// Pipeline is one source → mapping → sink.
type Pipeline struct {
	Name    string        `yaml:"name"`
	Source  Connector     `yaml:"source"`
	Mapping *mapping.Spec `yaml:"mapping"`
	Sink    Connector     `yaml:"sink"`
	// BatchSize is the most records per batch (default 500).
	BatchSize int `yaml:"batch_size"`
	// PollInterval is the wait when the source has nothing new (default 5s).
	PollInterval adapters.Duration `yaml:"poll_interval"`
	// RejectFile collects refused records (default <state_dir>/<name>.rejects.ndjson).
	RejectFile string `yaml:"reject_file"`
}

// Connector is a source or sink block: its type plus the connector's own
// settings, decoded later by the connector itself.
type Connector struct {
	Type string
	node ast.Node
}

// UnmarshalYAML keeps the block's node for the connector's strict decode.
func (c *Connector) UnmarshalYAML(node ast.Node) error {
	m, ok := node.(*ast.MappingNode)
	if !ok {
		return &LineError{Line: line(node), Msg: "must be a mapping with a type key"}
	}
	for _, v := range m.Values {
		if v.Key.String() == "type" {
			c.Type = strings.Trim(v.Value.String(), `"'`)
		}
	}
	c.node = node
	return nil
}

// LineError is a config mistake at a line of the file.
type LineError struct {
	Path string
	Line int
	Msg  string
}

func (e *LineError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

// Errors are all the mistakes found in a config.
type Errors []*LineError

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

func line(n ast.Node) int {
	if n == nil || n.GetToken() == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Load reads and checks an adapter.yaml without connecting to anything.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("adapter config: %w", err)
	}
	return Parse(path, data)
}

// Parse checks an adapter.yaml's bytes; path is used in messages and to
// resolve relative paths.
func Parse(path string, data []byte) (*Config, error) {
	cfg := &Config{path: path}
	data, errs := expandEnv(path, data)
	if len(errs) > 0 {
		return nil, errs
	}
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, Errors{yamlError(path, err)}
	}
	cfg.file = file
	if err := unmarshalStrict(data, cfg); err != nil {
		return nil, Errors{yamlError(path, err)}
	}
	if errs := cfg.check(); len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

var envRE = regexp.MustCompile(`\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}\n]*))?\}`)

// expandEnv replaces ${NAME} and ${NAME:-default} with the environment's
// value (the default when NAME is unset or empty), so one config serves
// several installations (the worked example reads YIKU_HUB and
// YIKU_DATA_DIR); $${ keeps a literal ${. A ${NAME} without a default whose
// variable is empty is a mistake at its line. Replacements never span
// lines, so line numbers stay those of the file.
func expandEnv(path string, data []byte) ([]byte, Errors) {
	var (
		errs Errors
		out  = make([]byte, 0, len(data))
		last int
	)
	for _, m := range envRE.FindAllSubmatchIndex(data, -1) {
		out = append(out, data[last:m[0]]...)
		last = m[1]
		if m[2] < 0 { // $${
			out = append(out, "${"...)
			continue
		}
		name := string(data[m[2]:m[3]])
		switch v := os.Getenv(name); {
		case v != "":
			out = append(out, v...)
		case m[4] >= 0:
			out = append(out, data[m[4]:m[5]]...)
		default:
			errs = append(errs, &LineError{Path: path, Line: 1 + bytes.Count(data[:m[0]], []byte("\n")),
				Msg: fmt.Sprintf("environment variable %s is not set (write ${%s:-default} to give a default)", name, name)})
		}
	}
	return append(out, data[last:]...), errs
}

// unmarshalStrict decodes data into cfg, rejecting unknown keys. The YAML
// library panics on some malformed tagged nodes (found by FuzzParse, e.g.
// "pipelines: !00 00"); a config file is outside input, so that panic is
// turned into an ordinary error.
func unmarshalStrict(data []byte, cfg *Config) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid YAML: %v", r)
		}
	}()
	return yaml.UnmarshalWithOptions(data, cfg, yaml.Strict())
}

func yamlError(path string, err error) *LineError {
	var le *LineError
	if errors.As(err, &le) {
		le.Path = path
		return le
	}
	var ale *adapters.LineError
	if errors.As(err, &ale) {
		return &LineError{Path: path, Line: ale.Line, Msg: ale.Msg}
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		if tok := ye.GetToken(); tok != nil {
			return &LineError{Path: path, Line: tok.Position.Line, Msg: ye.GetMessage()}
		}
		return &LineError{Path: path, Msg: ye.GetMessage()}
	}
	return &LineError{Path: path, Msg: err.Error()}
}

// Path is the file the config was read from.
func (c *Config) Path() string { return c.path }

// Dir is the folder of the config file.
func (c *Config) Dir() string {
	d, err := filepath.Abs(filepath.Dir(c.path))
	if err != nil {
		return filepath.Dir(c.path)
	}
	return d
}

// nodeAt returns the line of a YAML path ("$.pipelines[0].sink.table"),
// falling back to its parent when the key is absent.
func (c *Config) lineOf(path string) int {
	// An empty document has no nodes to point at (and the YAML library's
	// path filter does not expect one).
	if c.file == nil || len(c.file.Docs) == 0 || c.file.Docs[0] == nil || c.file.Docs[0].Body == nil {
		return 0
	}
	for p := path; p != "" && p != "$"; {
		yp, err := yaml.PathString(p)
		if err == nil {
			if n, err := yp.FilterFile(c.file); err == nil && n != nil {
				return line(n)
			}
		}
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

func (c *Config) errAt(path, format string, args ...any) *LineError {
	return &LineError{Path: c.path, Line: c.lineOf(path), Msg: fmt.Sprintf(format, args...)}
}

func (c *Config) check() Errors {
	var errs Errors
	if c.Department == "" {
		errs = append(errs, c.errAt("$.department", "department: the department code is required"))
	}
	if c.Hub != nil {
		h := c.Hub
		set := 0
		for _, s := range []bool{h.Token != "", h.TokenEnv != "", h.Credentials != nil} {
			if s {
				set++
			}
		}
		if h.URL == "" {
			errs = append(errs, c.errAt("$.hub.url", "hub.url is required"))
		}
		if set != 1 {
			errs = append(errs, c.errAt("$.hub", "hub: set exactly one of token, token_env and credentials"))
		}
		if h.Credentials != nil && (h.Credentials.File == "" || h.Credentials.Principal == "") {
			errs = append(errs, c.errAt("$.hub.credentials", "hub.credentials needs file and principal"))
		}
		if h.Kafka != nil && (len(h.Kafka.Brokers) == 0 || h.Kafka.TopicPrefix == "") {
			errs = append(errs, c.errAt("$.hub.kafka", "hub.kafka needs brokers and topic_prefix"))
		}
		if h.Kafka != nil {
			if _, err := h.Kafka.Security(c.Dir(), false); err != nil {
				errs = append(errs, c.errAt("$.hub.kafka", "%v", err))
			}
		}
	}
	if len(c.Pipelines) == 0 {
		errs = append(errs, c.errAt("$.pipelines", "pipelines: at least one pipeline is required"))
	}
	names := map[string]bool{}
	env := c.lintEnv()
	for i := range c.Pipelines {
		p := &c.Pipelines[i]
		at := fmt.Sprintf("$.pipelines[%d]", i)
		if !nameRE.MatchString(p.Name) {
			errs = append(errs, c.errAt(at+".name", "pipelines[%d].name: %q must be lower-case letters, digits, - or _", i, p.Name))
		} else if names[p.Name] {
			errs = append(errs, c.errAt(at+".name", "pipeline %q is defined twice", p.Name))
		}
		names[p.Name] = true
		if p.BatchSize == 0 {
			p.BatchSize = 500
		}
		if p.BatchSize < 1 || p.BatchSize > 5000 {
			errs = append(errs, c.errAt(at+".batch_size", "batch_size must be 1 to 5000"))
		}
		if p.PollInterval == 0 {
			p.PollInterval = adapters.Duration(5 * time.Second)
		}
		if p.PollInterval.D() < 10*time.Millisecond {
			errs = append(errs, c.errAt(at+".poll_interval", "poll_interval must be at least 10ms"))
		}
		if p.Mapping != nil {
			if _, err := mapping.New(*p.Mapping); err != nil {
				errs = append(errs, c.fieldErr(at+".mapping", err))
			}
		}
		if _, err := c.source(i, env); err != nil {
			errs = append(errs, c.fieldErr(at+".source", err))
		}
		if _, err := c.sink(i, env); err != nil {
			errs = append(errs, c.fieldErr(at+".sink", err))
		}
	}
	return errs
}

// fieldErr places a connector's or mapping's error at its line.
func (c *Config) fieldErr(at string, err error) *LineError {
	var fe *adapters.FieldError
	if errors.As(err, &fe) {
		p := at + "." + fe.Field
		return c.errAt(p, "%s.%s: %s", strings.TrimPrefix(at, "$."), fe.Field, fe.Problem)
	}
	var le *LineError
	if errors.As(err, &le) {
		le.Path = c.path
		return le
	}
	return c.errAt(at, "%s: %v", strings.TrimPrefix(at, "$."), err)
}

// lintEnv is an environment good enough to build connectors for checking:
// a placeholder hub client when the config has a hub block.
func (c *Config) lintEnv() adapters.Env {
	env := adapters.Env{Dir: c.Dir(), Department: c.Department}
	if c.Hub != nil {
		if hc, err := newHubClient(c.Hub.URL, "lint-only"); err == nil {
			env.Hub = hc
		}
		if c.Hub.Kafka != nil {
			env.KafkaBrokers, env.TopicPrefix = c.Hub.Kafka.Brokers, c.Hub.Kafka.TopicPrefix
			env.KafkaSecurity, _ = c.Hub.Kafka.Security(c.Dir(), false)
		}
	}
	return env
}

func (c *Config) decoder(n ast.Node) adapters.Decoder {
	return func(v any) error {
		m, ok := n.(*ast.MappingNode)
		if !ok {
			return &LineError{Line: line(n), Msg: "must be a mapping"}
		}
		// The connector's own struct has no type key; decode the rest.
		rest := &ast.MappingNode{BaseNode: m.BaseNode, Start: m.Start, End: m.End, IsFlowStyle: m.IsFlowStyle}
		for _, kv := range m.Values {
			if kv.Key.String() != "type" {
				rest.Values = append(rest.Values, kv)
			}
		}
		if err := yaml.NodeToValue(rest, v, yaml.Strict()); err != nil {
			return yamlError(c.path, err)
		}
		return nil
	}
}

func (c *Config) source(i int, env adapters.Env) (adapters.Source, error) {
	p := c.Pipelines[i]
	if p.Source.node == nil {
		return nil, adapters.Fieldf("type", "a source is required")
	}
	spec, ok := adapters.LookupSource(p.Source.Type)
	if !ok {
		return nil, adapters.Fieldf("type", "unknown source type %q (known: %s)", p.Source.Type, strings.Join(adapters.SourceNames(), ", "))
	}
	return spec.New(c.decoder(p.Source.node), env)
}

func (c *Config) sink(i int, env adapters.Env) (adapters.Sink, error) {
	p := c.Pipelines[i]
	if p.Sink.node == nil {
		return nil, adapters.Fieldf("type", "a sink is required")
	}
	spec, ok := adapters.LookupSink(p.Sink.Type)
	if !ok {
		return nil, adapters.Fieldf("type", "unknown sink type %q (known: %s)", p.Sink.Type, strings.Join(adapters.SinkNames(), ", "))
	}
	return spec.New(c.decoder(p.Sink.node), env)
}
