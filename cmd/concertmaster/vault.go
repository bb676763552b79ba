package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/concertmaster/concertmaster/internal/app"
	vault "github.com/concertmaster/concertmaster/internal/credential"
	"github.com/concertmaster/concertmaster/internal/secret"
	"github.com/concertmaster/concertmaster/internal/service"
)

// newCredentialsCmd groups the credential vault's maintenance commands.
func newCredentialsCmd(load loader) *cobra.Command {
	cmd := &cobra.Command{Use: "credentials", Short: "Maintain the credential vault on the database directly (CM_DATABASE_URL), with or without a server running"}
	cmd.AddCommand(newRotateKeyCmd(load))
	return cmd
}

func newRotateKeyCmd(load loader) *cobra.Command {
	var settle time.Duration
	var newSecretFile string
	var retire bool
	cmd := &cobra.Command{
		Use:   "rotate-key",
		Short: "Re-encrypt every credential under a new data key, while servers keep running",
		Long: "Create a new data key, re-encrypt every credential of every workspace under it (one conditional update each,\n" +
			"so a credential edited meanwhile is read again), wait --settle for running servers to adopt the new key\n" +
			"(they look for one every 30s), re-encrypt what they sealed meanwhile, and remove the data keys nothing uses.\n" +
			"Servers keep serving throughout: one that meets the new key reads it from the database.\n\n" +
			"To change the server secret (CM_SECRET_KEY) itself, pass --new-secret-file: the new data key is also stored\n" +
			"under that secret (the file is created with a new random secret when it does not exist), so processes on\n" +
			"either secret read every credential while you restart them one by one with CM_SECRET_KEY set to the file's\n" +
			"content; then run rotate-key once more with the new secret and --retire-other-secrets, after which the old\n" +
			"secret opens nothing. A new server secret also signs everyone out (sessions are signed with it).",
		Example: "  concertmaster credentials rotate-key\n" +
			"  concertmaster credentials rotate-key --new-secret-file /etc/concertmaster/next.key\n" +
			"  CM_SECRET_KEY=\"$(cat /etc/concertmaster/next.key)\" concertmaster credentials rotate-key --retire-other-secrets",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if settle < 0 {
				return &exitError{code: 2, err: errors.New("--settle must not be negative")}
			}
			c, logger, err := load()
			if err != nil {
				return err
			}
			var next []byte
			if newSecretFile != "" {
				ns, err := nextSecret(newSecretFile)
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				next = ns.Derive(vault.KeyInfo)
			}
			ctx := cmd.Context()
			st, _, err := app.OpenStore(ctx, c.DatabaseURL, logger)
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }()
			sec, err := app.LoadSecret(c, logger)
			if err != nil {
				return err
			}
			v, err := vault.NewVault(sec.Derive(vault.KeyInfo), st)
			if err != nil {
				return err
			}
			creds := service.NewCredentials(service.CredentialsConfig{Store: st, Vault: v, Logger: logger})
			if settle > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "Re-encrypting; then waiting %s for running servers to adopt the new key…\n", settle)
			}
			rep, err := creds.Rotate(ctx, service.RotateOptions{NextSecretKEK: next, RetireOtherSecrets: retire, Settle: settle})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "New data key %s: %d credentials re-encrypted, %d old data keys removed.\n", rep.KeyID, rep.Reencrypted, rep.KeysRemoved)
			if newSecretFile != "" {
				fmt.Fprintf(out, "The new data key is also stored under the secret in %s: restart every process with CM_SECRET_KEY set to it, then run rotate-key --retire-other-secrets.\n", newSecretFile)
			}
			if retire {
				fmt.Fprintf(out, "%d wraps under other server secrets removed: only this secret opens the credentials now.\n", rep.WrapsRetired)
			}
			if n := len(rep.UndecryptedIDs); n > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d credentials could not be decrypted with this server secret and were left as they were (old keys kept): %s",
					n, strings.Join(rep.UndecryptedIDs, ", "))}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.DurationVar(&settle, "settle", vault.RefreshInterval*2+5*time.Second, "how long running servers get to adopt the new key before the old ones are removed (0: keep them)")
	f.StringVar(&newSecretFile, "new-secret-file", "", "also store the new key under the server secret in this file (created with a random secret if missing)")
	f.BoolVar(&retire, "retire-other-secrets", false, "remove the keys stored under any server secret other than CM_SECRET_KEY")
	return cmd
}

// nextSecret reads the base64 secret in path, or creates the file (mode 0600) with a new random one.
func nextSecret(path string) (*secret.Secret, error) {
	b, err := os.ReadFile(path) //nolint:gosec // a file the operator names
	if errors.Is(err, fs.ErrNotExist) {
		text, err := secret.Generate()
		if err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) //nolint:gosec // a file the operator names
		if err != nil {
			return nil, fmt.Errorf("--new-secret-file: %w", err)
		}
		if _, err := f.WriteString(text + "\n"); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("--new-secret-file: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("--new-secret-file: %w", err)
		}
		return secret.Parse(text)
	}
	if err != nil {
		return nil, fmt.Errorf("--new-secret-file: %w", err)
	}
	s, err := secret.Parse(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("--new-secret-file %s: %w", path, err)
	}
	return s, nil
}
