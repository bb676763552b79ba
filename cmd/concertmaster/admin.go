package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/concertmaster/concertmaster/internal/app"
	"github.com/concertmaster/concertmaster/internal/identity"
	"github.com/concertmaster/concertmaster/internal/store"
)

func newAdminCmd(load loader) *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Administer users on the database directly (CM_DATABASE_URL), with or without a server running"}
	cmd.AddCommand(newCreateUserCmd(load))
	return cmd
}

// flagOf names the flag a field of identity.CreateUserParams comes from, for messages.
// (The password's reasons name it already.)
var flagOf = map[string]string{"/email": "--email", "/name": "--name", "/role": "--role", "/workspace": "--workspace-name"}

func newCreateUserCmd(load loader) *cobra.Command {
	var p identity.CreateUserParams
	var role string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "create-user --email EMAIL",
		Short: "Create a user: the first one owns the first workspace, later ones join a workspace with a role",
		Long: "Create a user in the database of CM_DATABASE_URL (migrating it first, like the server). The first user\n" +
			"becomes the owner of the first workspace, as the web app's setup screen does; a later one joins\n" +
			"--workspace-id (default: the first workspace) with --role (default editor). The password is asked\n" +
			"for without echo, or read from standard input with --password-stdin (or when standard input is not a\n" +
			"terminal: one line); it needs at least 10 characters and must be hard to guess. Exit code 2 when an\n" +
			"input is refused, with the reason.",
		Example: "  concertmaster admin create-user --email ada@example.com --name 'Ada Lovelace'\n" +
			"  printf '%s' \"$PASSWORD\" | concertmaster admin create-user --email bo@example.com --role viewer --password-stdin",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(p.Email) == "" {
				return &exitError{code: 2, err: errors.New("give --email")}
			}
			p.Role = store.Role(role)
			if role != "" && !p.Role.Valid() {
				return &exitError{code: 2, err: fmt.Errorf("--role %q: want owner, admin, editor or viewer", role)}
			}
			c, logger, err := load()
			if err != nil {
				return err
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
			id, err := identity.New(identity.Config{Store: st, Secret: sec, Logger: logger})
			if err != nil {
				return err
			}
			if p.Password, err = readPassword(cmd, passwordStdin, fmt.Sprintf("Password for %s: ", p.Email)); err != nil {
				return err
			}
			u, m, err := id.CreateUser(ctx, p)
			var fe *identity.FieldError
			switch {
			case errors.As(err, &fe):
				if what, ok := flagOf[fe.Pointer]; ok {
					return &exitError{code: 2, err: fmt.Errorf("%s: %s", what, fe.Message)}
				}
				return &exitError{code: 2, err: fe}
			case errors.Is(err, store.ErrNotFound):
				return &exitError{code: 2, err: fmt.Errorf("--workspace-id %q: there is no such workspace", p.TenantID)}
			case errors.Is(err, store.ErrConflict):
				return &exitError{code: 2, err: errors.New(strings.TrimSuffix(err.Error(), ": "+store.ErrConflict.Error()))}
			case err != nil:
				return err
			}
			workspace := m.TenantID
			if t, err := st.GetTenant(ctx, m.TenantID); err == nil {
				workspace = fmt.Sprintf("%q (%s)", t.Name, t.ID)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created user %s (%s): %s of workspace %s.\n", u.ID, u.Email, m.Role, workspace)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Email, "email", "", "the user's e-mail, to sign in with")
	f.StringVar(&p.Name, "name", "", "the user's name")
	f.StringVar(&role, "role", "", "owner, admin, editor or viewer (default editor; the first user is the owner)")
	f.StringVar(&p.TenantID, "workspace-id", "", "the workspace a later user joins (default: the first workspace)")
	f.StringVar(&p.Workspace, "workspace-name", "", "the first user's workspace's name (default My workspace)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	return cmd
}
