package builtin_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/credential"
	"github.com/concertmaster/concertmaster/internal/nodes/builtin"
)

// pendingTesters lists credential types whose node family has not landed its tester yet.
var pendingTesters = map[string]bool{}

// TestCredentialTesters checks that POST /credentials/{id}/test can check every credential type: each
// has a tester, and no tester is registered for a type that does not exist.
func TestCredentialTesters(t *testing.T) {
	t.Parallel()

	testers := builtin.CredentialTesters(builtin.Config{})
	for _, ct := range credential.Types() {
		if !pendingTesters[ct.Name] {
			require.NotNil(t, testers[ct.Name], "credential type %s has no tester", ct.Name)
		}
	}
	for name := range testers {
		require.NotNil(t, credential.Lookup(name), "a tester is registered for %s, which is not a credential type", name)
	}
}
