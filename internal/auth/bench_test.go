package auth

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// BenchmarkHashPassword measures one argon2id hash with DefaultParams and prints the figure bench/run.sh
// collects (issue 8: one hash takes 50–250 ms here, so login is slow for brute force and quick enough
// for people).
func BenchmarkHashPassword(b *testing.B) {
	var ds []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := HashPassword("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	p := DefaultParams()
	fmt.Printf("figure: argon2id password hash (m=%d KiB, t=%d, p=%d): p50 %.1f ms, p95 %.1f ms over %d runs — target 50–250 ms\n",
		p.Memory, p.Iterations, p.Parallelism, ms(ds[len(ds)/2]), ms(ds[(len(ds)*95+99)/100-1]), len(ds))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkVerifyToken measures verifying an access token, which every authenticated request pays.
func BenchmarkVerifyToken(b *testing.B) {
	s, err := NewSigner(SignerConfig{Key: testKey(1)})
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := s.Issue(Claims{Subject: "user-1", TenantID: "tenant-1"})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDummyVerify measures the unknown-account path of a login, which must cost what a wrong
// password costs (BenchmarkVerifyPassword) so that timing does not tell which e-mails have accounts.
func BenchmarkDummyVerify(b *testing.B) {
	for b.Loop() {
		DummyVerify("a wrong password")
	}
}

// BenchmarkVerifyPassword measures a wrong password against a stored hash.
func BenchmarkVerifyPassword(b *testing.B) {
	hash, err := HashPassword("the real password")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_, _, _ = VerifyPassword(hash, "a wrong password")
	}
}

// BenchmarkCheckStrengthWorst measures CheckStrength on the longest password it evaluates, made of
// the mixed symbols that make zxcvbn work hardest.
func BenchmarkCheckStrengthWorst(b *testing.B) {
	worst := strings.Repeat("x7#Lq9!vR2@mZ", 80)[:MaxPasswordLength]
	inputs := []string{strings.Repeat("n", maxUserInput), strings.Repeat("e", maxUserInput)}
	for b.Loop() {
		_ = CheckStrength(worst, inputs...)
	}
}
