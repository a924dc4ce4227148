package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/segmentio/kafka-go"
)

// DeleteTopics deletes topics; a topic that does not exist is not an error.
func (c *Client) DeleteTopics(ctx context.Context, topics ...string) error {
	if len(topics) == 0 {
		return nil
	}
	resp, err := c.admin.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: topics})
	if err != nil {
		return fmt.Errorf("broker: delete %d topics: %w", len(topics), err)
	}
	var errs []error
	for name, terr := range resp.Errors {
		if terr != nil && !errors.Is(terr, kafka.UnknownTopicOrPartition) {
			errs = append(errs, fmt.Errorf("broker: delete topic %s: %w", name, terr))
		}
	}
	return errors.Join(errs...)
}

// DeleteTopicsWithPrefix deletes every topic named prefix + "." + anything,
// the topics of one hub's --topic-prefix, and returns how many it deleted.
// Tests and benchmark hubs use it so a broker they share does not pile up
// partitions (and file descriptors) run after run.
func (c *Client) DeleteTopicsWithPrefix(ctx context.Context, prefix string) (int, error) {
	if prefix == "" {
		return 0, errors.New("broker: delete topics: empty prefix")
	}
	md, err := c.admin.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return 0, fmt.Errorf("broker: list topics: %w", err)
	}
	var names []string
	for _, t := range md.Topics {
		if strings.HasPrefix(t.Name, prefix+".") {
			names = append(names, t.Name)
		}
	}
	return len(names), c.DeleteTopics(ctx, names...)
}
