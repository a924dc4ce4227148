// Package embedded runs an in-process Kafka-protocol broker (franz-go's kfake)
// on a real TCP address, for `yiku dev` and fast tests. Any Kafka client,
// kcat included, can talk to it. With a Superuser it requires SASL and
// checks ACLs like a secured Apache Kafka: anonymous connections are
// refused and only the super user may do anything until it grants ACLs.
// It is not a production broker.
package embedded

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is a running embedded broker.
type Broker struct {
	c    *kfake.Cluster
	addr string
}

// Option adjusts the embedded broker.
type Option func(*options)

type options struct {
	mechanism, user, password string
	tls                       *tls.Config
}

// TLS makes the broker accept TLS connections only, with cfg's
// certificate (and, with cfg.ClientAuth, client certificates).
func TLS(cfg *tls.Config) Option {
	return func(o *options) { o.tls = cfg }
}

// Superuser makes the broker require SASL (mechanism PLAIN, SCRAM-SHA-256
// or SCRAM-SHA-512) and enforce ACLs, with user/password as its super user,
// who bypasses ACLs and may create topics, ACLs and other users' SCRAM
// credentials. With a data dir, SCRAM users and ACLs persist there, and a
// user's persisted credentials win over the password given here: keep the
// super user's password as long as the data dir.
func Superuser(mechanism, user, password string) Option {
	return func(o *options) { o.mechanism, o.user, o.password = mechanism, user, password }
}

// Start listens on addr ("127.0.0.1:0" picks a free port). With a non-empty
// dataDir the broker persists its log there and reloads it on the next start.
func Start(addr, dataDir string, partitions int, opts ...Option) (*Broker, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	switch o.mechanism {
	case "":
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		if o.user == "" || o.password == "" {
			return nil, fmt.Errorf("embedded broker: the super user needs a name and a password")
		}
	default:
		return nil, fmt.Errorf("embedded broker: SASL mechanism %q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", o.mechanism)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: address %q: %w", addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: listen %s: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	used := false
	kopts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(partitions),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			if used {
				return nil, fmt.Errorf("embedded broker: one listener only")
			}
			used = true
			// TLS is done here rather than by kfake, so the SASL
			// handshake shim sees the Kafka frames, not ciphertext.
			var l net.Listener = ln
			if o.tls != nil {
				l = tls.NewListener(l, o.tls)
			}
			return handshakeCompatListener{l}, nil
		}),
	}
	if dataDir != "" {
		kopts = append(kopts, kfake.DataDir(dataDir))
	}
	if o.mechanism != "" {
		kopts = append(kopts, kfake.EnableSASL(), kfake.Superuser(o.mechanism, o.user, o.password), kfake.EnableACLs())
	}
	c, err := kfake.NewCluster(kopts...)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("embedded broker: start: %w", err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return &Broker{c: c, addr: net.JoinHostPort(host, port)}, nil
}

// Addr is the bootstrap address clients connect to.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker, flushing its log to the data dir.
func (b *Broker) Close() { b.c.Close() }
