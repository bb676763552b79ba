package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
)

// newDecideCmd is approve or reject: it decides a flow.wait node in approval mode of a running
// server's execution.
func newDecideCmd(lookupEnv func(string) (string, bool), approve bool) *cobra.Command {
	verb, past := "reject", "Rejected"
	if approve {
		verb, past = "approve", "Approved"
	}
	server := defaultServer
	if v, ok := lookupEnv(serverEnv); ok && v != "" {
		server = v
	}
	var comment string
	cmd := &cobra.Command{
		Use:   verb + " EXECUTION_ID NODE_ID",
		Short: "Decide a waiting approval (a flow.wait node in approval mode): " + verb + " it",
		Long: "Send the decision to the server (POST /api/v1/executions/{id}/nodes/{nodeId}/" + verb + "); the node outputs\n" +
			"{decision, approved, comment, by, at} and the run resumes at once. Exit code 0 when the decision was taken,\n" +
			"1 when the server refused it (already decided, not waiting, finished, not allowed), 2 for a usage error.\n" +
			"It signs in with $CM_API_KEY when set, else with the session concertmaster login stored.",
		Example: "  concertmaster " + verb + " 019ad3c4-0c8e-7c41-9f1e-8f5b3c2a1d00 ask --comment 'checked with finance'",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 2 {
				return &exitError{code: 2, err: errors.New("give the execution id and the node id (see concertmaster " + verb + " --help)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			base, err := serverURL(server)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if len(comment) > 2000 {
				return &exitError{code: 2, err: errors.New("--comment is over 2000 characters")}
			}
			auth, err := credentialsFor(lookupEnv, base)
			if err != nil {
				return err
			}
			token, err := auth.Token(cmd.Context())
			if err != nil {
				return err
			}
			path := "/api/v1/executions/" + url.PathEscape(args[0]) + "/nodes/" + url.PathEscape(args[1]) + "/" + verb
			var out struct {
				Status string `json:"status"`
			}
			err = newAPIClient(base).call(cmd.Context(), http.MethodPost, path, token, map[string]string{"comment": comment}, &out)
			var apiErr *apiError
			if errors.As(err, &apiErr) && apiErr.status == http.StatusUnauthorized {
				if token, err = auth.Renew(cmd.Context(), token, apiErr.detail); err != nil {
					return err
				}
				err = newAPIClient(base).call(cmd.Context(), http.MethodPost, path, token, map[string]string{"comment": comment}, &out)
			}
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s node %s of execution %s; the execution is %s\n", past, args[1], args[0], out.Status)
			return err
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "why, kept in the node's output and the audit log")
	cmd.Flags().StringVar(&server, "server", server, "the server's URL (env "+serverEnv+")")
	return cmd
}
