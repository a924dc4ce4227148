// Package kafkaacl keeps Kafka's authorisation equal to the hub's own:
// every department that publishes over Kafka and every Kafka-egress
// subscription has its own SCRAM principal, and the ACLs those principals
// hold are derived from the same state the sharing gate decides on
// (departments with Kafka ingress, active subscriptions whose subscriber
// still holds a grant). Desired computes the bindings that state implies,
// Diff compares them with what the cluster has, the Reconciler repairs the
// difference, and Service issues, rotates and revokes the credentials.
//
// The package holds rules and the controller loop only: the Kafka admin
// requests are in kafkaacl/kafkaadmin, the credential rows in
// kafkaacl/sqlstore and the HTTP routes in kafkaacl/kafkaaclapi. It knows
// nothing of records, schemas or masking.
package kafkaacl
