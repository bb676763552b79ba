package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/concertmaster/concertmaster/internal/identity"
	"github.com/concertmaster/concertmaster/internal/live"
)

// maxUserAgent bounds the user agent the audit log keeps.
const maxUserAgent = 256

// noTenant is what tenant answers without a principal: no tenant has this id, so nothing is found.
const noTenant = "-"

// tenant returns the tenant the request acts in: its principal's.
func tenant(ctx context.Context) string {
	if p, ok := identity.FromContext(ctx); ok {
		return p.TenantID
	}
	return noTenant
}

type tlsKey struct{}

// overTLS reports whether the request came over TLS (cookies are then Secure).
func overTLS(ctx context.Context) bool {
	v, _ := ctx.Value(tlsKey{}).(bool)
	return v
}

// withOrigin records where the request came from (for the audit log and the rate limits) and whether
// it came over TLS.
func withOrigin(r *http.Request) context.Context {
	ip := r.RemoteAddr
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	ua := r.UserAgent()
	if len(ua) > maxUserAgent {
		ua = strings.ToValidUTF8(ua[:maxUserAgent], "")
	}
	ctx := identity.WithOrigin(r.Context(), identity.Origin{IP: ip, UserAgent: ua})
	if r.TLS != nil {
		ctx = context.WithValue(ctx, tlsKey{}, true)
	}
	return ctx
}

// authorize is the huma middleware that applies the policy table to every operation before its
// handler runs: it looks the operation up by id (an operation without an entry is refused: fail
// closed), lets public ones through, and otherwise authenticates the request and checks its role.
func (s *Server) authorize(ctx huma.Context, next func(huma.Context)) {
	r, w := humago.Unwrap(ctx)
	p, err := s.check(r.WithContext(ctx.Context()), ctx.Operation().OperationID)
	if err != nil {
		s.writeAuthError(w, r, err)
		return
	}
	if p != nil {
		ctx = huma.WithContext(ctx, identity.WithPrincipal(ctx.Context(), p))
	}
	next(ctx)
}

// errNoPolicy refuses an operation the policy table does not name.
var errNoPolicy = errors.New("this operation has no access policy")

// check authenticates r for the operation opID and checks the policy: nil principal and nil error for
// a public operation.
func (s *Server) check(r *http.Request, opID string) (*identity.Principal, error) {
	a, ok := policy[opID]
	if !ok {
		s.logger.ErrorContext(r.Context(), "Operation without an access policy refused", "operation", opID)
		return nil, errNoPolicy
	}
	if a.public {
		return nil, nil
	}
	if s.cfg.Identity == nil {
		return nil, errNoPolicy
	}
	ctx := r.Context()
	var (
		p   *identity.Principal
		err error
	)
	if h := r.Header.Get("Authorization"); h == "" && a.ticket && r.URL.Query().Has("ticket") {
		p, err = s.cfg.Identity.RedeemTicket(ctx, r.URL.Query().Get("ticket"))
	} else {
		p, err = s.cfg.Identity.AuthenticateHeader(ctx, h)
	}
	if err != nil {
		return nil, err
	}
	if err := permits(a, p); err != nil {
		return nil, err
	}
	if s.cfg.APIRateLimit != nil {
		ok, retry, err := s.cfg.APIRateLimit.Allow(ctx, "p:"+p.Actor(), 1)
		if err != nil {
			return nil, fmt.Errorf("rate limit: %w", err)
		}
		if !ok {
			return nil, &identity.RateLimitedError{RetryAfter: retry}
		}
	}
	return p, nil
}

// permits checks a principal against an access entry.
func permits(a access, p *identity.Principal) error {
	if a.userOnly && !p.IsUser() {
		return &identity.ForbiddenError{Reason: "this is for people signed in, not API keys"}
	}
	if !p.Role.AtLeast(a.min) {
		return &identity.ForbiddenError{Reason: fmt.Sprintf("your role (%s) cannot do this: it takes %s or above", p.Role, a.min)}
	}
	return nil
}

// authProblem maps the errors of authentication and authorization to problems, with the headers
// they need; ok is false for any other error.
func authProblem(err error) (huma.StatusError, http.Header, bool) {
	var authErr *identity.AuthError
	var forbidden *identity.ForbiddenError
	var limited *identity.RateLimitedError
	switch {
	case errors.As(err, &authErr):
		desc := strings.ReplaceAll(authErr.Reason, `"`, "'")
		code := "invalid_token"
		return newError(http.StatusUnauthorized, authErr.Reason), http.Header{"Www-Authenticate": {`Bearer error="` + code + `", error_description="` + desc + `"`}}, true
	case errors.Is(err, identity.ErrInvalidCredentials):
		return newError(http.StatusUnauthorized, err.Error()), http.Header{"Www-Authenticate": {`Bearer`}}, true
	case errors.As(err, &forbidden):
		return newError(http.StatusForbidden, forbidden.Reason), nil, true
	case errors.As(err, &limited):
		return newError(http.StatusTooManyRequests, limited.Error()), http.Header{"Retry-After": {strconv.FormatInt(limited.RetryAfterSeconds(), 10)}}, true
	case errors.Is(err, errNoPolicy):
		return newError(http.StatusForbidden, err.Error()), nil, true
	}
	return nil, nil, false
}

// writeAuthError answers a refused request outside huma's error path.
func (s *Server) writeAuthError(w http.ResponseWriter, r *http.Request, err error) {
	se, h, ok := authProblem(err)
	if !ok && !errors.As(toProblem(r.Context(), s.logger, err), &se) {
		se = newError(http.StatusInternalServerError, "internal error")
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	writeProblem(w, se)
}

// protect wraps a handler outside huma (the SSE streams) in the policy of its documented operation.
func (s *Server) protect(opID string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.check(r, opID)
		if err != nil {
			s.writeAuthError(w, r, err)
			return
		}
		if p != nil {
			r = r.WithContext(identity.WithPrincipal(r.Context(), p))
		}
		h(w, r)
	}
}

// wsAuthenticator resolves the token of the live WebSocket's auth message under the policy of
// live-websocket.
func (s *Server) wsAuthenticator(ctx context.Context, token string) (live.Access, error) {
	if s.cfg.Identity == nil {
		return live.Access{}, errNoPolicy
	}
	p, err := s.cfg.Identity.AuthenticateToken(ctx, token)
	if err != nil {
		return live.Access{}, err
	}
	if err := permits(policy["live-websocket"], p); err != nil {
		return live.Access{}, err
	}
	return live.Access{TenantID: p.TenantID, ExpiresAt: p.ExpiresAt}, nil
}
