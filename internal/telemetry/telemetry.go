// Package telemetry sets up OpenTelemetry tracing from the standard OTEL_* environment variables and
// offers the small helpers the rest of ConcertMaster uses: W3C trace context carried across process
// boundaries (Carrier, FromCarrier, TraceParent, WithTraceParent), spans around outbound HTTP
// requests (Transport) and database statements (StartDB), log records that carry trace_id, span_id
// and execution_id (NewLogHandler), and error reports to Sentry (NewSentry).
//
// Tracing is off unless an OTLP endpoint is configured; then Start returns a Provider whose
// TracerProvider is nil, and every caller skips its spans entirely, so that tracing costs nothing when
// it is off. No global OpenTelemetry state is set: components receive the TracerProvider, and code
// below a span (nodes) reaches it through the span in its context.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of every span ConcertMaster makes.
const ScopeName = "github.com/concertmaster/concertmaster"

// ServiceNameDefault is the service.name of the spans when OTEL_SERVICE_NAME is not set.
const ServiceNameDefault = "concertmaster"

// Config configures Start.
type Config struct {
	// Version is reported as service.version.
	Version string
	// Getenv reads the environment (default os.Getenv). The OTLP exporters and the SDK's sampler
	// read the process environment themselves; Getenv decides only whether tracing is on and which
	// protocol it speaks.
	Getenv func(string) string
	// Exporter, when set, replaces the OTLP exporter and turns tracing on whatever the environment
	// says (tests).
	Exporter sdktrace.SpanExporter
	// Logger receives the start-up line (default: discarded).
	Logger *slog.Logger
}

// Provider is the tracing of one process.
type Provider struct {
	sdk *sdktrace.TracerProvider
}

// Enabled reports whether OTEL_* asks for traces to be exported: an OTLP endpoint is set
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), OTEL_SDK_DISABLED is not
// true, and OTEL_TRACES_EXPORTER, when set, is otlp.
func Enabled(getenv func(string) string) bool {
	if getenv == nil {
		getenv = os.Getenv
	}
	if disabled, err := strconv.ParseBool(strings.TrimSpace(getenv("OTEL_SDK_DISABLED"))); err == nil && disabled {
		return false
	}
	if exp := strings.TrimSpace(strings.ToLower(getenv("OTEL_TRACES_EXPORTER"))); exp != "" && exp != "otlp" {
		return false
	}
	return strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")) != "" || strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) != ""
}

// Protocol returns the OTLP protocol the environment names for traces: http/protobuf (the default)
// or grpc. http/json is refused: the Go exporters do not speak it.
func Protocol(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	p := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
	if p == "" {
		p = strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_PROTOCOL"))
	}
	switch p {
	case "", "http/protobuf":
		return "http/protobuf", nil
	case "grpc":
		return "grpc", nil
	default:
		return "", fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: want http/protobuf or grpc", p)
	}
}

// Start sets up tracing as the environment says. With tracing off it returns a Provider whose
// TracerProvider is nil and costs nothing.
func Start(ctx context.Context, cfg Config) (*Provider, error) {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	exporter := cfg.Exporter
	if exporter == nil {
		if !Enabled(getenv) {
			return &Provider{}, nil
		}
		proto, err := Protocol(getenv)
		if err != nil {
			return nil, fmt.Errorf("tracing: %w", err)
		}
		// The exporters read the endpoint, headers, timeout, compression and TLS settings from
		// OTEL_EXPORTER_OTLP_* themselves.
		if proto == "grpc" {
			exporter, err = otlptracegrpc.New(ctx)
		} else {
			exporter, err = otlptracehttp.New(ctx)
		}
		if err != nil {
			return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
		}
		logger.Info("Tracing is on", "protocol", proto)
	}
	// Later detectors override earlier ones: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	// over the defaults.
	attrs := []attribute.KeyValue{attribute.String("service.name", ServiceNameDefault)}
	if cfg.Version != "" {
		attrs = append(attrs, attribute.String("service.version", cfg.Version))
	}
	res, err := resource.New(ctx, resource.WithAttributes(attrs...), resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		_ = exporter.Shutdown(ctx)
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	// No sampler option: the SDK reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (default:
	// parent-based, always on), and an option would override them.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	return &Provider{sdk: tp}, nil
}

// TracerProvider returns the provider spans are made with, or nil when tracing is off. A nil
// Provider is off.
func (p *Provider) TracerProvider() trace.TracerProvider {
	if p == nil || p.sdk == nil {
		return nil
	}
	return p.sdk
}

// Enabled reports whether spans are made.
func (p *Provider) Enabled() bool { return p != nil && p.sdk != nil }

// Shutdown exports the spans still buffered and stops the exporter; ctx bounds the wait.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil || p.sdk == nil {
		return nil
	}
	if err := p.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// ForceFlush exports the spans buffered so far.
func (p *Provider) ForceFlush(ctx context.Context) error {
	if p == nil || p.sdk == nil {
		return nil
	}
	return p.sdk.ForceFlush(ctx)
}

// Tracer returns the ConcertMaster tracer of tp, or nil when tp is nil.
func Tracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		return nil
	}
	return tp.Tracer(ScopeName)
}
