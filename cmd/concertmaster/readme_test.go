package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// readmeSkip marks a README shell block that TestReadmeExamples does not run; the comment says why.
const readmeSkip = "<!-- readme-test: skip"

// readmeOwner finds the owner the README's examples sign in as: the e-mail and password the server
// is started with.
var readmeOwner = regexp.MustCompile(`CM_BOOTSTRAP_EMAIL=(\S+) CM_BOOTSTRAP_PASSWORD='([^']+)'`)

var shellBlock = regexp.MustCompile("(?s)(<!-- readme-test: skip[^\n]*-->\n)?```sh\n(.*?)```")

// readmeShellBlocks returns the README's ```sh blocks, in order, without the skipped ones.
func readmeShellBlocks(readme string) (run []string, skipped int) {
	for _, m := range shellBlock.FindAllStringSubmatch(readme, -1) {
		if strings.HasPrefix(m[1], readmeSkip) {
			skipped++
			continue
		}
		run = append(run, m[2])
	}
	return run, skipped
}

// TestReadmeExamples runs the README's shell examples as a reader pastes them, against the real
// binary: every ```sh block in order, in one shell (later blocks use the variables earlier ones set),
// from a directory that has the repository's examples/, with localhost:8080 pointing at this test's
// server and bin/concertmaster at this test's build. A block preceded by
// "<!-- readme-test: skip (why) -->" is not run (make run and make test are not).
func TestReadmeExamples(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq", "openssl"} {
		_, err := exec.LookPath(tool)
		require.NoError(t, err, "the README's examples use %s: install it (apt-get install -y %s)", tool, tool)
	}
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	blocks, skipped := readmeShellBlocks(string(readme))
	require.GreaterOrEqual(t, len(blocks), 3, "the README's examples were found")
	require.Equal(t, 2, skipped, "only the quick start's make commands and the PostgreSQL backup commands are skipped")

	// The examples sign in as the owner the README says the server was started with.
	owner := readmeOwner.FindStringSubmatch(string(readme))
	require.NotNil(t, owner, "the README names the owner its examples sign in as")
	s := startServer(t, filepath.Join(t.TempDir(), "cm.db"), "CM_BOOTSTRAP_EMAIL="+owner[1], "CM_BOOTSTRAP_PASSWORD="+owner[2])
	defer func() { _ = s.stop(t, syscall.SIGTERM) }()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.Symlink(filepath.Join(root, "examples"), filepath.Join(dir, "examples")))

	script := "set -euo pipefail\n" + strings.Join(blocks, "\n")
	script = strings.ReplaceAll(script, "localhost:8080", strings.TrimPrefix(s.url, "http://"))
	script = strings.ReplaceAll(script, "bin/concertmaster", binary(t))
	cmd := exec.CommandContext(t.Context(), "bash", "-c", script)
	cmd.Dir = dir
	// A home of its own: concertmaster login stores its session under the user's configuration directory.
	cmd.Env = append(os.Environ(), "CM_DATABASE_URL=sqlite://"+filepath.Join(dir, "cli.db"), "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, ".config"))
	// What a reader types when concertmaster login asks for the password.
	cmd.Stdin = strings.NewReader(owner[2] + "\n")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the README's examples failed:\n%s\n\nserver log:\n%s", out, s.log())

	// What the examples say they print.
	require.Contains(t, string(out), "Execution ", "bin/concertmaster run reports the execution")
	require.Contains(t, string(out), `"status": "succeeded"`, "the API run succeeds")
	require.Contains(t, string(out), `"tax": 30`)
	require.Contains(t, string(out), `"inputTruncated": false`)
	require.Contains(t, string(out), `{"ref":"refs/heads/main"}`, "the signed webhook request runs")
	require.Contains(t, string(out), "unsigned: 401", "the unsigned one is refused")
	require.Regexp(t, `\["\d{4}-\d\d-\d\dT0[01]:30:00Z"(,"[^"]+"){4}\]`, string(out), "the schedule preview lists five fire times of 02:30 in Paris")
	require.Regexp(t, `execution\.finished  succeeded in `, string(out), "bin/concertmaster watch replays the finished execution")
	require.Contains(t, string(out), "Signed in to "+s.url+" as "+owner[1], "bin/concertmaster login signs in")
	b, err := os.ReadFile(filepath.Join(dir, "tax-output.json"))
	require.NoError(t, err)
	require.Contains(t, string(b), `"tax":30`)
}

func TestReadmeShellBlocks(t *testing.T) {
	t.Parallel()
	run, skipped := readmeShellBlocks("a\n```sh\necho 1\n```\n<!-- readme-test: skip (slow) -->\n```sh\nmake test\n```\n```json\n{}\n```\n```sh\necho 2\n```\n")
	require.Equal(t, []string{"echo 1\n", "echo 2\n"}, run)
	require.Equal(t, 1, skipped)
}
