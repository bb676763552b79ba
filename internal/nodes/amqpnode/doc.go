// Package amqpnode implements the node types that talk to an AMQP 0-9-1 broker such as RabbitMQ:
// amqp.publish, which publishes one message and waits for the broker's confirm, and trigger.amqp,
// which consumes a queue and starts one execution per message, acknowledging it only once the
// execution is durably queued.
//
// Every connection is dialled through the deployment's outbound policy (conn.Config.Dial). Publishing
// nodes share one connection per credential (conn.Cache) with a small pool of confirm-mode channels;
// a connection the broker or the network closed is dialled again on the next publish. A listening
// trigger holds its own connection for as long as it listens, and returns when it closes so that the
// host restarts it.
package amqpnode
