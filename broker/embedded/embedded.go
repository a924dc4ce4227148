// Package embedded runs an in-process Kafka-protocol broker (franz-go's kfake)
// on a real TCP address, for `yiku dev` and fast tests. Any Kafka client,
// kcat included, can talk to it. It is not a production broker.
package embedded

import (
	"fmt"
	"net"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is a running embedded broker.
type Broker struct {
	c    *kfake.Cluster
	addr string
}

// Start listens on addr ("127.0.0.1:0" picks a free port). With a non-empty
// dataDir the broker persists its log there and reloads it on the next start.
func Start(addr, dataDir string, partitions int) (*Broker, error) {
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
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(partitions),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			if used {
				return nil, fmt.Errorf("embedded broker: one listener only")
			}
			used = true
			return ln, nil
		}),
	}
	if dataDir != "" {
		opts = append(opts, kfake.DataDir(dataDir))
	}
	c, err := kfake.NewCluster(opts...)
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
