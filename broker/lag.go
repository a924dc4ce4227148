package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/periodic"
)

// TopicLag is how far a consumer group is behind one topic, summed over the
// topic's partitions. End = Consumed + Lag.
type TopicLag struct {
	Topic string
	// End is the sum of the next offsets Kafka writes.
	End int64
	// Consumed is the sum of the next offsets the group reads.
	Consumed int64
	// Lag is how many messages the group has not committed yet.
	Lag int64
}

// GroupLag measures how far a consumer group that commits to Kafka is
// behind each topic: per partition, the end offset minus the group's
// committed offset. A partition the group never committed (or whose
// committed offset retention has since deleted) counts from its first
// offset, where Yiku's consumer groups start. A topic that does not exist
// has lag 0: nothing was ever written to it. (Whether it exists is what the
// client's metadata cache says; kafka-go refreshes it every few seconds and
// at once after EnsureTopics.) End offsets are read before
// the committed ones, so a lag of 0 means the group had committed every
// message written before the call began. A partition whose leader is
// moving (as right after the topic was created) is asked again for a few
// seconds before the error is returned.
func (c *Client) GroupLag(ctx context.Context, group string, topics ...string) ([]TopicLag, error) {
	deadline := time.Now().Add(groupLagPatience)
	wait := 50 * time.Millisecond
	for {
		out, err := c.groupLag(ctx, group, topics)
		var kerr kafka.Error
		if err == nil || !errors.As(err, &kerr) || !kerr.Temporary() || time.Now().Add(wait).After(deadline) {
			return out, err
		}
		if err := periodic.Sleep(ctx, wait); err != nil {
			return nil, err
		}
		wait = min(2*wait, time.Second)
	}
}

// groupLagPatience bounds how long GroupLag retries temporary errors.
const groupLagPatience = 8 * time.Second

func (c *Client) groupLag(ctx context.Context, group string, topics []string) ([]TopicLag, error) {
	out := make([]TopicLag, len(topics))
	for i, t := range topics {
		out[i].Topic = t
	}
	if len(topics) == 0 {
		return out, nil
	}
	md, err := c.admin.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("broker: lag of %s: metadata: %w", group, err)
	}
	parts := map[string][]int{}
	for _, t := range md.Topics {
		if errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
			continue
		}
		if t.Error != nil {
			return nil, fmt.Errorf("broker: lag of %s: metadata %s: %w", group, t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			parts[t.Name] = append(parts[t.Name], p.ID)
		}
	}
	if len(parts) == 0 {
		return out, nil
	}
	end, err := c.listOffsets(ctx, parts, kafka.LastOffset)
	if err != nil {
		return nil, fmt.Errorf("broker: lag of %s: %w", group, err)
	}
	first, err := c.listOffsets(ctx, parts, kafka.FirstOffset)
	if err != nil {
		return nil, fmt.Errorf("broker: lag of %s: %w", group, err)
	}
	resp, err := c.admin.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: parts})
	if err == nil && resp.Error != nil && !errors.Is(resp.Error, kafka.GroupIdNotFound) {
		err = resp.Error
	}
	if err != nil {
		return nil, fmt.Errorf("broker: committed offsets of %s: %w", group, err)
	}
	committed := map[partition]int64{}
	for topic, ps := range resp.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return nil, fmt.Errorf("broker: committed offset of %s on %s/%d: %w", group, topic, p.Partition, p.Error)
			}
			committed[partition{topic, p.Partition}] = p.CommittedOffset
		}
	}
	for i := range out {
		for _, p := range parts[out[i].Topic] {
			key := partition{out[i].Topic, p}
			e, ok := end[key]
			if !ok {
				return nil, fmt.Errorf("broker: lag of %s: no end offset for %s/%d", group, key.topic, p)
			}
			pos, ok := committed[key]
			if !ok || pos < first[key] {
				pos = first[key]
			}
			lag := max(0, e-pos)
			out[i].End += e
			out[i].Consumed += e - lag
			out[i].Lag += lag
		}
	}
	return out, nil
}

type partition struct {
	topic string
	id    int
}

// listOffsets asks for the first or the last (next to be written) offset
// of every partition. Kafka refuses a partition named twice in one
// request, so first and last offsets take a request each.
func (c *Client) listOffsets(ctx context.Context, parts map[string][]int, which int64) (map[partition]int64, error) {
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for topic, ps := range parts {
		for _, p := range ps {
			req.Topics[topic] = append(req.Topics[topic], kafka.OffsetRequest{Partition: p, Timestamp: which})
		}
	}
	resp, err := c.admin.ListOffsets(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("list offsets: %w", err)
	}
	out := map[partition]int64{}
	for topic, ps := range resp.Topics {
		for _, po := range ps {
			if po.Error != nil {
				return nil, fmt.Errorf("list offsets %s/%d: %w", topic, po.Partition, po.Error)
			}
			o := po.LastOffset
			if which == kafka.FirstOffset {
				o = po.FirstOffset
			}
			out[partition{topic, po.Partition}] = o
		}
	}
	return out, nil
}
