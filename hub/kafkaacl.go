package hub

import "github.com/segmentio/kafka-go"

// kafkaAdmin is the client the Kafka ACL reconciler and the credential
// service send admin requests with, as the hub's own principal (which
// must be a super user of the cluster, or hold Alter and Describe on it).
func (h *Hub) kafkaAdmin() *kafka.Client { return h.Broker.Admin() }

// kafkaPrincipal is the hub's own Kafka principal, "" without SASL.
func (h *Hub) kafkaPrincipal() string { return h.Broker.Security().Principal() }

// kafkaProtocol is the security protocol the hub reaches Kafka with.
func (h *Hub) kafkaProtocol() string { return h.Broker.Security().Protocol() }
