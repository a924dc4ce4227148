// Package ingress is the hub's Kafka publish path. Department adapters
// produce raw records to their department's topic <prefix>.ingress.<dept>
// (key = subject key; headers yiku-resource, optional yiku-schema-version
// and yiku-idempotency-key; a tombstone is an empty value with
// yiku-delete-reason). The Worker runs one consumer per department, each a
// member of the one consumer group shared by every hub instance and
// subscribed to its department's topic alone, so one department's slow or
// failing batch never delays another's; the Ingester validates each batch
// through the same exchange.Publisher code as HTTP publishes (Prepare, then
// Route), drops repeated idempotency keys, and sends refused records to
// <prefix>.dlq.<dept> with the reasons and the source position in headers,
// indexing them in the database. The worker keeps its progress in the
// consumer group; the LagMeter reads it back as each department's ingress
// lag for the exchange status. The Service lists a department's dead
// letters and replays one, corrected or as it was, through the HTTP publish
// path. The HTTP handlers are in exchange/ingress/ingressapi.
package ingress
