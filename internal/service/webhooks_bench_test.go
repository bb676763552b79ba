package service_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
)

// BenchmarkOpenWebhook measures what a webhook request costs before its execution is created: the
// route lookup, the trigger's configuration from the cached plan and its authentication, without one
// and with each kind (the body is the cmbench webhook's).
func BenchmarkOpenWebhook(b *testing.B) {
	const secret = "bench-webhook-secret-0123456789"
	body := []byte(`{"orderId": 42, "total": 150.5, "customer": {"name": "Ada", "tier": "gold"}}`)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	sig := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	env := enginetest.Start(b, enginetest.Options{NoDispatcher: true})
	ctx := context.Background()
	for _, bc := range []struct {
		name, auth string
		header     http.Header
	}{
		{name: "None", header: http.Header{}},
		{name: "Header", auth: `,"auth":{"type":"header","name":"X-Webhook-Token","value":"` + secret + `"}`,
			header: http.Header{"X-Webhook-Token": {secret}}},
		{name: "HMAC", auth: `,"auth":{"type":"hmac","header":"X-Signature-256","secret":"` + secret + `","prefix":"sha256="}`,
			header: http.Header{"X-Signature-256": {sig}}},
	} {
		w := env.Save(b, `{"name":"bench","nodes":[{"id":"hook","type":"trigger.webhook","config":{"path":"bench/`+bc.name+`"`+bc.auth+`}}]}`)
		_, err := env.Service.SetActive(ctx, tenant, w.ID, true)
		require.NoError(b, err)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := env.Service.OpenWebhook(ctx, "POST", "bench/"+bc.name, bc.header, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
