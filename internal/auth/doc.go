// Package auth holds the identity building blocks of ADR 0013, free of HTTP and storage: argon2id
// password hashes and the strength check, HS256 access tokens (JWT) with key rotation, the opaque
// secrets used as refresh tokens and API keys, and the parsing of the Authorization header.
//
// Nothing here keeps global mutable state; every comparison of secret material is constant-time.
package auth
