package brokertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// deleteTopicsWithPrefix removes every topic whose name starts with
// prefix + ".", so a long suite on a real broker does not pile up
// thousands of partitions (and run the broker out of file descriptors).
func deleteTopicsWithPrefix(t testing.TB, brokers []string, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		t.Logf("brokertest: list topics to delete: %v", err)
		return
	}
	var names []string
	for _, tp := range md.Topics {
		if strings.HasPrefix(tp.Name, prefix+".") {
			names = append(names, tp.Name)
		}
	}
	if len(names) == 0 {
		return
	}
	resp, err := cl.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: names})
	if err != nil {
		t.Logf("brokertest: delete %d topics: %v", len(names), err)
		return
	}
	for name, terr := range resp.Errors {
		if terr != nil {
			t.Logf("brokertest: delete topic %s: %v", name, terr)
		}
	}
}
