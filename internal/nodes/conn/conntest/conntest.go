// Package conntest helps the integration node types' tests: credentials held in memory, a Config that
// may reach loopback servers, and the URLs of the servers the tests run against.
package conntest

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/concertmaster/concertmaster/internal/credential"
	"github.com/concertmaster/concertmaster/internal/netguard"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
)

// Credentials is a node.Credentials over credentials held in memory. It records what it was asked to
// redact, and its Redactor scrubs like the engine's.
type Credentials struct {
	mu       sync.Mutex
	byID     map[string]*node.Credential
	Redactor credential.Redactor
}

// NewCredentials returns an empty Credentials.
func NewCredentials() *Credentials { return &Credentials{byID: map[string]*node.Credential{}} }

// Add stores a credential of type typ with data (checked and normalised as the API would), and
// returns its id.
func (c *Credentials) Add(t testing.TB, typ string, data map[string]any) string {
	t.Helper()
	ct := credential.Lookup(typ)
	if ct == nil {
		t.Fatalf("no credential type %q", typ)
	}
	if err := ct.Check(data); err != nil {
		t.Fatalf("credential data: %v", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	id := fmt.Sprintf("cred-%d", len(c.byID)+1)
	c.byID[id] = &node.Credential{ID: id, Name: id, Type: typ, Data: data, Secrets: ct.SecretValues(data), Fingerprint: "1"}
	return id
}

// Get implements node.Credentials.
func (c *Credentials) Get(_ context.Context, id string, types ...string) (*node.Credential, error) {
	c.mu.Lock()
	cr, ok := c.byID[id]
	c.mu.Unlock()
	if !ok {
		return nil, node.Permanent(node.Errorf(node.CodeCredentialNotFound, "credential %s does not exist", id))
	}
	c.Redactor.Add(cr.Secrets...)
	if len(types) > 0 {
		found := false
		for _, typ := range types {
			found = found || typ == cr.Type
		}
		if !found {
			return nil, node.Permanent(node.Errorf(node.CodeCredentialType, "credential %s is of type %s", id, cr.Type))
		}
	}
	return cr, nil
}

// Redact implements node.Credentials.
func (c *Credentials) Redact(values ...string) { c.Redactor.Add(values...) }

// Config returns a conn.Config whose policy lets tests reach loopback servers, with a short timeout.
func Config() conn.Config {
	return conn.Config{Policy: &netguard.Policy{AllowPrivate: true}, Timeout: 10 * time.Second}.WithDefaults()
}

// StrictConfig returns a conn.Config with the default policy, which refuses loopback: tests use it to
// check that a node's connections go through the guard.
func StrictConfig() conn.Config { return conn.Config{}.WithDefaults() }

// ServerURL returns the URL in the environment variable name (CM_TEST_MYSQL_URL…), which .ci/run and
// make test set (scripts/ensure-services.sh). Unset, the test is skipped; set, the server must answer
// within five seconds or the test fails: CI never skips a server it was told about.
func ServerURL(t testing.TB, name, hostPort string) string {
	t.Helper()
	u := os.Getenv(name)
	if u == "" {
		t.Skipf("%s is not set; run through make test (scripts/ensure-services.sh) to include this test", name)
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", hostPort)
	if err != nil {
		t.Fatalf("%s is set but %s does not answer: %v", name, hostPort, err)
	}
	_ = c.Close()
	return u
}

// Input returns a node.Input for a test attempt with creds and data, with a 16 MiB output limit.
func Input(creds node.Credentials, data any) *node.Input {
	return &node.Input{Data: data, Credentials: creds, Limits: node.Limits{MaxOutputBytes: 16 << 20},
		Execution: node.ExecutionInfo{TenantID: "t1", ExecutionID: "e1", WorkflowID: "w1", NodeID: "n1", Attempt: 1}}
}
