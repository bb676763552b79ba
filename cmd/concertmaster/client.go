package main

import (
	"context"
	"fmt"
	"time"
)

// apiKeyEnv holds an API key (cm_ak_…) for scripts: when set, the client commands send it instead
// of the token concertmaster login stored. Like CM_API_URL it is a client's variable, not a server
// setting.
const apiKeyEnv = "CM_API_KEY" //nolint:gosec // the variable's name, not a key

// tokenSource gives a client command the bearer token it sends to the server.
type tokenSource interface {
	// Token returns the token to send.
	Token(ctx context.Context) (string, error)
	// Renew is called when the server refused rejected or closed a connection because it expired:
	// it returns a fresh token, or an error saying why there is none.
	Renew(ctx context.Context, rejected, reason string) (string, error)
}

// apiKey is CM_API_KEY: sent as it is, and not renewable.
type apiKey string

func (k apiKey) Token(context.Context) (string, error) { return string(k), nil }

func (k apiKey) Renew(_ context.Context, _, reason string) (string, error) {
	return "", &exitError{code: 2, err: fmt.Errorf("the server refused %s: %s", apiKeyEnv, reason)}
}

// notSignedIn is the error of a client command that has no credential for server.
func notSignedIn(server string) error {
	return &exitError{code: 2, err: fmt.Errorf("not signed in to %s: run concertmaster login or set %s", server, apiKeyEnv)}
}

// credentialsFor returns the token source of the client commands for server: CM_API_KEY when set,
// else the session concertmaster login stored for server.
func credentialsFor(lookupEnv func(string) (string, bool), server string) (tokenSource, error) {
	if k, ok := lookupEnv(apiKeyEnv); ok && k != "" {
		return apiKey(k), nil
	}
	store, err := openCredentials(lookupEnv)
	if err != nil {
		return nil, err
	}
	c, err := store.get(server)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, notSignedIn(server)
	}
	return &storedSession{server: server, store: store, client: newAPIClient(server), cur: *c, now: time.Now}, nil
}
