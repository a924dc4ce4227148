package hub

import (
	"time"

	"github.com/segmentio/kafka-go"
)

// kafkaAdmin is the client the Kafka ACL reconciler and the credential
// service send admin requests with (as the hub's own principal).
func (h *Hub) kafkaAdmin() *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(h.BrokerAddrs()...), Timeout: 10 * time.Second}
}

// kafkaPrincipal is the hub's own Kafka principal, "" without SASL.
func (h *Hub) kafkaPrincipal() string { return "" }

// kafkaProtocol is the security protocol the hub reaches Kafka with.
func (h *Hub) kafkaProtocol() string { return "PLAINTEXT" }
