// Package connectors holds Yiku's department-side sources and sinks, one
// file per connector, each registered by name with its documented config
// spec: file drop, SQL table polling, HTTP pull and hub subscription
// sources; hub (HTTP and Kafka ingress), SQL table, file and webhook sinks.
// Importing the package registers them. It holds no pipeline loop (package
// adapters/runtime) and no record mapping (adapters/mapping).
package connectors
