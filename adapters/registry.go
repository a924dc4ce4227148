package adapters

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml/ast"

	"yiku/adapters/client"
	"yiku/broker"
)

// Env is what a connector may use besides its own settings.
type Env struct {
	// Dir is the directory of the adapter.yaml; relative paths in a
	// connector's settings are resolved against it.
	Dir string
	// Department is the code of the department the adapter runs for.
	Department string
	// Hub is the client of the hub, nil if the config names no hub.
	Hub *client.Client
	// KafkaBrokers and TopicPrefix locate the hub's Kafka for the ingress
	// sink; KafkaSecurity is the department's login there (SASL, TLS).
	KafkaBrokers  []string
	TopicPrefix   string
	KafkaSecurity broker.Security
	Log           *slog.Logger
}

// Decoder strictly decodes a connector's settings block into v; unknown
// keys and wrong types are errors that name the line.
type Decoder func(v any) error

// SourceSpec registers a source connector under a name.
type SourceSpec struct {
	Name string
	// Doc is the connector's config spec, shown by `yiku adapter lint --list`.
	Doc string
	New func(decode Decoder, env Env) (Source, error)
}

// SinkSpec registers a sink connector under a name.
type SinkSpec struct {
	Name string
	Doc  string
	New  func(decode Decoder, env Env) (Sink, error)
}

var (
	regMu   sync.RWMutex
	sources = map[string]SourceSpec{}
	sinks   = map[string]SinkSpec{}
)

// RegisterSource adds a source connector; registering a name twice panics,
// as it is a programming error caught at start-up.
func RegisterSource(s SourceSpec) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := sources[s.Name]; dup {
		panic("adapters: source " + s.Name + " registered twice")
	}
	sources[s.Name] = s
}

// RegisterSink adds a sink connector.
func RegisterSink(s SinkSpec) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := sinks[s.Name]; dup {
		panic("adapters: sink " + s.Name + " registered twice")
	}
	sinks[s.Name] = s
}

// LookupSource returns the source registered under name.
func LookupSource(name string) (SourceSpec, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	s, ok := sources[name]
	return s, ok
}

// LookupSink returns the sink registered under name.
func LookupSink(name string) (SinkSpec, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	s, ok := sinks[name]
	return s, ok
}

// SourceNames lists the registered sources, sorted.
func SourceNames() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	return sortedKeys(sources)
}

// SinkNames lists the registered sinks, sorted.
func SinkNames() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	return sortedKeys(sinks)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Duration is a time.Duration written in a config as "5s", "2m" or "1h30m".
type Duration time.Duration

// UnmarshalYAML parses the duration, naming the line of a bad one.
func (d *Duration) UnmarshalYAML(node ast.Node) error {
	s := strings.Trim(strings.TrimSpace(node.String()), `"'`)
	v, err := time.ParseDuration(s)
	if err != nil {
		line := 0
		if tok := node.GetToken(); tok != nil {
			line = tok.Position.Line
		}
		return &LineError{Line: line, Msg: fmt.Sprintf("%q is not a duration (use e.g. 500ms, 5s, 2m)", s)}
	}
	*d = Duration(v)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// LineError is a config value refused at a line of the file.
type LineError struct {
	Line int
	Msg  string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }
