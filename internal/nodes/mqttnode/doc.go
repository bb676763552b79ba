// Package mqttnode implements the node types that talk to an MQTT v5 broker such as Mosquitto:
// mqtt.publish, which publishes one message at QoS 0, 1 or 2, and trigger.mqtt, which subscribes to
// a topic filter with a persistent session and starts one execution per message, acknowledging a
// message (PUBACK) only once its execution is durably queued.
//
// Every connection is dialled through the deployment's outbound policy (conn.Config.Dial); the
// client library (github.com/eclipse/paho.golang) runs on the connection the node opened. Publishing
// nodes share one connection per credential (conn.Cache), dialled again when it was lost. A listening
// trigger holds its own connection, with a client id derived from its workflow and node so that the
// broker keeps its session (and the messages published while it is away) between connections.
package mqttnode
