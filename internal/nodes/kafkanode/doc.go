// Package kafkanode implements the node types that talk to a Kafka cluster: kafka.produce, which
// produces one record and waits for the cluster's acknowledgement, and trigger.kafka, which consumes
// topics in a consumer group and starts one execution per record, committing a record's offset only
// once its execution is durably queued.
//
// The client is github.com/twmb/franz-go; every connection is dialled through the deployment's
// outbound policy (conn.Config.Dial) by the client's dialer hook, with TLS and SASL (PLAIN,
// SCRAM-SHA-256, SCRAM-SHA-512) as the credential says. Producing nodes share one client per
// credential (conn.Cache); the client reconnects by itself. A listening trigger holds its own client
// for as long as it listens.
package kafkanode
