package auth

import (
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary tokens to Verify: it must not panic, and whatever it accepts must carry
// complete claims that re-issue into a token verifying to the same claims.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s, err := NewSigner(SignerConfig{Key: testKey(1), PreviousKeys: [][]byte{testKey(2)}, Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	old, err := NewSigner(SignerConfig{Key: testKey(2), Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	for _, signer := range []*Signer{s, old} {
		tok, _, err := signer.Issue(Claims{Subject: "user-1", TenantID: "tenant-1"})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok)
		parts := strings.Split(tok, ".")
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add(parts[0] + "..." + parts[2])
	}
	f.Add("")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := s.Verify(token)
		if err != nil {
			if c != nil {
				t.Fatal("claims with an error")
			}
			return
		}
		if c.Subject == "" || c.TenantID == "" || c.IssuedAt.IsZero() || c.ExpiresAt.IsZero() {
			t.Fatalf("accepted incomplete claims %+v", c)
		}
		again, _, err := s.Issue(*c)
		if err != nil {
			t.Fatalf("re-issuing accepted claims %+v: %v", c, err)
		}
		c2, err := s.Verify(again)
		if err != nil {
			t.Fatalf("re-issued token refused: %v", err)
		}
		if *c2 != *c {
			t.Fatalf("round trip changed the claims: %+v then %+v", c, c2)
		}
	})
}

// FuzzHashOpaque: no panic, and an accepted secret has the exact format, a known kind and a stable
// hash.
func FuzzHashOpaque(f *testing.F) {
	for _, k := range []OpaqueKind{KindRefresh, KindAPIKey} {
		plain, _, err := NewOpaque(k)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(plain)
		f.Add(plain[:len(plain)-1] + "=")
	}
	f.Add("cm_ak_")
	f.Fuzz(func(t *testing.T, plain string) {
		hash, kind, ok := HashOpaque(plain)
		if !ok {
			if hash != "" || kind != "" {
				t.Fatal("results with ok=false")
			}
			return
		}
		if len(plain) != OpaqueLength || !strings.HasPrefix(plain, kind.Prefix()) || !kind.valid() {
			t.Fatalf("accepted %q as %q", plain, kind)
		}
		if hash != hashHex(plain) || len(hash) != 64 {
			t.Fatalf("hash of %q is %q", plain, hash)
		}
		// An accepted secret is a valid bearer credential exactly when it is an API key.
		credKind, cred, err := ParseAuthorization("Bearer " + plain)
		if (kind == KindAPIKey) != (err == nil) || (err == nil && (credKind != CredentialAPIKey || cred != plain)) {
			t.Fatalf("%q as a bearer credential: %q %q %v", plain, credKind, cred, err)
		}
	})
}

// FuzzParseAuthorization: no panic, and anything accepted is a Bearer header whose credential is
// the rest of the header, printable ASCII without spaces, and parses again to the same result.
func FuzzParseAuthorization(f *testing.F) {
	plain, _, err := NewOpaque(KindAPIKey)
	if err != nil {
		f.Fatal(err)
	}
	for _, h := range []string{"Bearer " + plain, "bearer a.b.c", "Bearer a.b.c==", "Basic x", "Bearer  a.b.c", "Bearer a.b.c\x00", ""} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, header string) {
		kind, cred, err := ParseAuthorization(header)
		if err != nil {
			if kind != "" || cred != "" {
				t.Fatal("results with an error")
			}
			return
		}
		if len(header) > MaxAuthorizationLength || !strings.EqualFold(header[:7], "Bearer ") || header[7:] != cred {
			t.Fatalf("accepted %q with credential %q", header, cred)
		}
		for i := 0; i < len(cred); i++ {
			if cred[i] <= ' ' || cred[i] >= 0x7f {
				t.Fatalf("credential %q has byte %#x", cred, cred[i])
			}
		}
		kind2, cred2, err := ParseAuthorization("Bearer " + cred)
		if err != nil || kind2 != kind || cred2 != cred {
			t.Fatalf("round trip of %q: %q %q %v", header, kind2, cred2, err)
		}
	})
}
