// Package builtin registers every node type that ships with ConcertMaster into a registry.
package builtin

import (
	"fmt"
	"maps"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/ainode"
	"github.com/concertmaster/concertmaster/internal/nodes/amqpnode"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/core"
	"github.com/concertmaster/concertmaster/internal/nodes/cryptonode"
	"github.com/concertmaster/concertmaster/internal/nodes/datetime"
	"github.com/concertmaster/concertmaster/internal/nodes/emailnode"
	"github.com/concertmaster/concertmaster/internal/nodes/files"
	"github.com/concertmaster/concertmaster/internal/nodes/format"
	"github.com/concertmaster/concertmaster/internal/nodes/httpnode"
	"github.com/concertmaster/concertmaster/internal/nodes/jq"
	"github.com/concertmaster/concertmaster/internal/nodes/jscode"
	"github.com/concertmaster/concertmaster/internal/nodes/kafkanode"
	"github.com/concertmaster/concertmaster/internal/nodes/mqttnode"
	"github.com/concertmaster/concertmaster/internal/nodes/natsnode"
	"github.com/concertmaster/concertmaster/internal/nodes/records"
	"github.com/concertmaster/concertmaster/internal/nodes/redisnode"
	"github.com/concertmaster/concertmaster/internal/nodes/s3node"
	"github.com/concertmaster/concertmaster/internal/nodes/sqlnode"
	"github.com/concertmaster/concertmaster/internal/nodes/textnode"
)

// Config configures the built-in types that need it.
type Config struct {
	HTTP httpnode.Config
	// Files configures file.read, file.write and file.list; the zero value works in ./data/files.
	Files files.Config
	// Code configures code.javascript (CM_CODE_TIMEOUT, CM_CODE_MAX_MEMORY).
	Code jscode.Config
	// Conn configures the integration nodes' outbound connections (policy, timeout, pool bounds).
	Conn conn.Config
}

// Register adds the built-in node types to r.
func Register(r *node.Registry, cfg Config) error {
	var all []node.Node
	// One line per family package.
	all = append(all, core.All()...)
	all = append(all, httpnode.All(cfg.HTTP)...)
	all = append(all, format.All()...)
	all = append(all, datetime.All()...)
	all = append(all, cryptonode.All()...)
	all = append(all, files.New(cfg.Files)...)
	all = append(all, records.All()...)
	all = append(all, jq.All()...)
	all = append(all, textnode.All()...)
	all = append(all, jscode.New(cfg.Code))
	all = append(all, amqpnode.New(cfg.Conn)...)
	all = append(all, sqlnode.New(cfg.Conn)...)
	all = append(all, ainode.New(cfg.Conn)...)
	all = append(all, mqttnode.New(cfg.Conn)...)
	all = append(all, emailnode.New(cfg.Conn)...)
	all = append(all, redisnode.New(cfg.Conn)...)
	all = append(all, natsnode.New(cfg.Conn)...)
	all = append(all, s3node.New(cfg.Conn)...)
	all = append(all, kafkanode.New(cfg.Conn)...)
	for _, n := range all {
		if err := r.Register(n); err != nil {
			return fmt.Errorf("register built-in node types: %w", err)
		}
	}
	return nil
}

// CredentialTesters returns the credential testers of the built-in node families, by credential
// type, for POST /api/v1/credentials/{id}/test.
func CredentialTesters(cfg Config) map[string]conn.TestFunc {
	out := map[string]conn.TestFunc{}
	// One line per family package.
	maps.Copy(out, httpnode.Testers(cfg.Conn))
	maps.Copy(out, amqpnode.Testers(cfg.Conn))
	maps.Copy(out, sqlnode.Testers(cfg.Conn))
	maps.Copy(out, ainode.Testers(cfg.Conn))
	maps.Copy(out, mqttnode.Testers(cfg.Conn))
	maps.Copy(out, emailnode.Testers(cfg.Conn))
	maps.Copy(out, redisnode.Testers(cfg.Conn))
	maps.Copy(out, natsnode.Testers(cfg.Conn))
	maps.Copy(out, s3node.Testers(cfg.Conn))
	maps.Copy(out, kafkanode.Testers(cfg.Conn))
	return out
}

// NewRegistry returns a registry holding the built-in node types.
func NewRegistry(cfg Config) (*node.Registry, error) {
	r := node.NewRegistry()
	if err := Register(r, cfg); err != nil {
		return nil, err
	}
	return r, nil
}
