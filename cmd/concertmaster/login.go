package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// renewBefore is how long before its expiry a stored access token is renewed instead of sent.
const renewBefore = 30 * time.Second

// maxPassword bounds what is read as a password (the server takes at most 1,024 bytes).
const maxPassword = 4096

// apiClient calls a server's API.
type apiClient struct {
	server string
	http   *http.Client
}

func newAPIClient(server string) *apiClient {
	return &apiClient{server: server, http: &http.Client{Timeout: 30 * time.Second}}
}

// apiError is an answer of the server that is not a success.
type apiError struct {
	status     int
	detail     string
	retryAfter string
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("the server answered %d: %s", e.status, e.detail)
	if e.retryAfter != "" {
		msg += " (try again in " + e.retryAfter + " s)"
	}
	return msg
}

// call sends body (when not nil) as JSON with token (when not empty) as the bearer token, and decodes
// a successful answer into out (when not nil). A refused call is an *apiError.
func (c *apiClient) call(ctx context.Context, method, path, token string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("User-Agent", "concertmaster/"+version)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w", c.server, unwrapDial(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return &apiError{status: resp.StatusCode, detail: problemDetail(resp), retryAfter: resp.Header.Get("Retry-After")}
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return fmt.Errorf("%s %s: the answer is not what this program expects: %w", method, path, err)
	}
	return nil
}

// tokenPair is the answer of login and refresh.
type tokenPair struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	ExpiresIn    int64  `json:"expiresIn"`
	TenantID     string `json:"tenantId"`
}

func (p *tokenPair) credential(server string, now time.Time) credential {
	return credential{Server: server, AccessToken: p.AccessToken, RefreshToken: p.RefreshToken,
		ExpiresAt: now.Add(time.Duration(p.ExpiresIn) * time.Second).UTC(), TenantID: p.TenantID}
}

// whoAmI is the answer of GET /api/v1/auth/me.
type whoAmI struct {
	User *struct {
		ID    string `json:"id"`
		Email string `json:"email"`
		Name  string `json:"name"`
	} `json:"user"`
	Tenant struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"tenant"`
	Role    string `json:"role"`
	Tenants []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Role string `json:"role"`
	} `json:"tenants"`
}

// storedSession is the token source of a session concertmaster login stored: its access token
// while it is fresh, renewed through POST /api/v1/auth/refresh when it expires or is refused. Each
// renewal rotates the refresh token; the new one is stored at once, under the store's lock.
type storedSession struct {
	server string
	store  *credentialStore
	client *apiClient
	cur    credential
	now    func() time.Time
}

func (s *storedSession) Token(ctx context.Context) (string, error) {
	if s.now().Before(s.cur.ExpiresAt.Add(-renewBefore)) {
		return s.cur.AccessToken, nil
	}
	return s.Renew(ctx, s.cur.AccessToken, "the access token expired")
}

func (s *storedSession) Renew(ctx context.Context, rejected, reason string) (string, error) {
	unlock, err := s.store.lock()
	if err != nil {
		return "", err
	}
	defer unlock()
	// Another concertmaster process may have renewed the session (or signed out) meanwhile.
	c, err := s.store.get(s.server)
	if err != nil {
		return "", err
	}
	if c == nil {
		return "", notSignedIn(s.server)
	}
	if c.AccessToken != rejected && s.now().Before(c.ExpiresAt.Add(-renewBefore)) {
		s.cur = *c
		return c.AccessToken, nil
	}
	var pair tokenPair
	err = s.client.call(ctx, http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"refreshToken": c.RefreshToken}, &pair)
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.status == http.StatusUnauthorized:
		// The session is over (signed out elsewhere, expired, revoked): forget it.
		_, _ = s.store.remove(s.server)
		return "", &exitError{code: 2, err: fmt.Errorf("the session on %s has ended (%s; renewing it: %s): run concertmaster login", s.server, reason, ae.detail)}
	case errors.As(err, &ae) && ae.status < 500 && ae.status != http.StatusTooManyRequests:
		return "", fmt.Errorf("renew the session on %s: %w", s.server, err)
	case err != nil:
		// The server is unreachable or busy: try again later.
		return "", &retryError{err: fmt.Errorf("renew the session: %w", err)}
	}
	s.cur = pair.credential(s.server, s.now())
	if err := s.store.put(s.cur); err != nil {
		return "", err
	}
	return s.cur.AccessToken, nil
}

// serverFlag adds --server to cmd, defaulting to $CM_API_URL, else defaultServer.
func serverFlag(cmd *cobra.Command, lookupEnv func(string) (string, bool), server *string) {
	*server = defaultServer
	if v, ok := lookupEnv(serverEnv); ok && v != "" {
		*server = v
	}
	cmd.Flags().StringVar(server, "server", *server, "the server's URL (env "+serverEnv+")")
}

func newLoginCmd(lookupEnv func(string) (string, bool)) *cobra.Command {
	var server, email, workspace string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login --email EMAIL",
		Short: "Sign in to a server and keep the session for the other commands (watch)",
		Long: "Sign in to a server with an e-mail and password and keep the session in the user's configuration\n" +
			"directory (concertmaster/credentials.json, readable by you only), one per server. The commands that\n" +
			"talk to that server send it and renew it as it expires. The password is asked for without echo, or\n" +
			"read from standard input with --password-stdin (or when standard input is not a terminal: one line).\n" +
			"Scripts may set CM_API_KEY to an API key instead.",
		Example: "  concertmaster login --email ada@example.com\n" +
			"  concertmaster login --server https://cm.example.com --email ada@example.com --workspace 019ad3…\n" +
			"  printf '%s' \"$PASSWORD\" | concertmaster login --email ci@example.com --password-stdin",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, err := serverURL(server)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if strings.TrimSpace(email) == "" {
				return &exitError{code: 2, err: errors.New("give --email")}
			}
			store, err := openCredentials(lookupEnv)
			if err != nil {
				return err
			}
			password, err := readPassword(cmd, passwordStdin, fmt.Sprintf("Password for %s on %s: ", email, base))
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			client := newAPIClient(base)
			body := map[string]string{"email": email, "password": password}
			if workspace != "" {
				body["tenantId"] = workspace
			}
			var pair tokenPair
			if err := client.call(ctx, http.MethodPost, "/api/v1/auth/login", "", body, &pair); err != nil {
				return fmt.Errorf("sign in to %s: %w", base, err)
			}
			unlock, err := store.lock()
			if err != nil {
				return err
			}
			err = store.put(pair.credential(base, time.Now()))
			unlock()
			if err != nil {
				return err
			}
			var me whoAmI
			if err := client.call(ctx, http.MethodGet, "/api/v1/auth/me", pair.AccessToken, nil, &me); err != nil {
				return fmt.Errorf("signed in, but reading who you are failed: %w", err)
			}
			out := cmd.OutOrStdout()
			who := email
			if me.User != nil {
				who = me.User.Email
				if me.User.Name != "" {
					who = me.User.Name + " <" + me.User.Email + ">"
				}
			}
			fmt.Fprintf(out, "Signed in to %s as %s, in workspace %q (%s, %s).\n", base, who, me.Tenant.Name, me.Tenant.ID, me.Role)
			var others []string
			for _, t := range me.Tenants {
				if t.ID != me.Tenant.ID {
					others = append(others, fmt.Sprintf("%q (%s, %s)", t.Name, t.ID, t.Role))
				}
			}
			if len(others) > 0 {
				fmt.Fprintf(out, "Your other workspaces: %s; sign in with --workspace ID to use one.\n", strings.Join(others, ", "))
			}
			return nil
		},
	}
	serverFlag(cmd, lookupEnv, &server)
	f := cmd.Flags()
	f.StringVar(&email, "email", "", "your e-mail address")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	f.StringVar(&workspace, "workspace", "", "the id of the workspace to act in (default: your first)")
	return cmd
}

func newLogoutCmd(lookupEnv func(string) (string, bool)) *cobra.Command {
	var server string
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Sign out of a server: revoke the stored session and forget it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, err := serverURL(server)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			store, err := openCredentials(lookupEnv)
			if err != nil {
				return err
			}
			unlock, err := store.lock()
			if err != nil {
				return err
			}
			defer unlock()
			c, err := store.get(base)
			if err != nil {
				return err
			}
			if c == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "Not signed in to %s.\n", base)
				return nil
			}
			revokeErr := newAPIClient(base).call(cmd.Context(), http.MethodPost, "/api/v1/auth/logout", "", map[string]string{"refreshToken": c.RefreshToken}, nil)
			var ae *apiError
			if errors.As(revokeErr, &ae) && ae.status == http.StatusUnauthorized {
				revokeErr = nil // the session was over already
			}
			if _, err := store.remove(base); err != nil {
				return err
			}
			if revokeErr != nil {
				return fmt.Errorf("forgot the session, but the server could not revoke it (it ends when it expires): %w", revokeErr)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Signed out of %s.\n", base)
			return nil
		},
	}
	serverFlag(cmd, lookupEnv, &server)
	return cmd
}

// readPassword reads a password: all of standard input with fromStdin, else asked for on the terminal
// without echo, else (standard input is not a terminal) its first line.
func readPassword(cmd *cobra.Command, fromStdin bool, prompt string) (string, error) {
	in := cmd.InOrStdin()
	if fromStdin {
		b, err := io.ReadAll(io.LimitReader(in, maxPassword+1))
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		if len(b) > maxPassword {
			return "", &exitError{code: 2, err: errors.New("the password on standard input is too long")}
		}
		return nonEmpty(strings.TrimRight(string(b), "\r\n"))
	}
	var line string
	readLine := func() error {
		var err error
		line, err = readLineContext(cmd.Context(), in)
		return err
	}
	if f, ok := in.(*os.File); ok {
		terminal, err := withoutEcho(f, func() error {
			fmt.Fprint(cmd.ErrOrStderr(), prompt)
			defer fmt.Fprintln(cmd.ErrOrStderr())
			return readLine()
		})
		if terminal {
			if err != nil {
				return "", err
			}
			return nonEmpty(line)
		}
	}
	if err := readLine(); err != nil {
		return "", err
	}
	return nonEmpty(line)
}

func nonEmpty(password string) (string, error) {
	if password == "" {
		return "", &exitError{code: 2, err: errors.New("no password given")}
	}
	return password, nil
}

// readLineContext reads one line from r (without its end), giving up when ctx ends (Ctrl-C).
func readLineContext(ctx context.Context, r io.Reader) (string, error) {
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		line, err := bufio.NewReaderSize(io.LimitReader(r, maxPassword+1), 256).ReadString('\n')
		if errors.Is(err, io.EOF) && line != "" {
			err = nil
		}
		done <- result{strings.TrimRight(line, "\r\n"), err}
	}()
	select {
	case res := <-done:
		if errors.Is(res.err, io.EOF) {
			return "", &exitError{code: 2, err: errors.New("no password given (standard input is empty)")}
		}
		if len(res.line) > maxPassword {
			return "", &exitError{code: 2, err: errors.New("the password is too long")}
		}
		return res.line, res.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
