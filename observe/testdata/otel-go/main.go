// A tiny Go program that sends one trace (a parent and a failing child span) and a few metrics
// with the OpenTelemetry Go SDK over OTLP/HTTP to the endpoint in OTEL_EXPORTER_OTLP_ENDPOINT.
// moat's receiver test builds and runs it.
package main

import (
	"context"
	"errors"
	"log"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

func main() {
	ctx := context.Background()
	res := resource.NewSchemaless(semconv.ServiceName("ledger-go"))

	traceExporter, err := otlptracehttp.New(ctx, otlptracehttp.WithInsecure())
	if err != nil {
		log.Fatal(err)
	}
	tracerProvider := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSyncer(traceExporter))
	tracer := tracerProvider.Tracer("ledger")
	ctx, parent := tracer.Start(ctx, "POST /transfer", trace.WithAttributes(attribute.String("http.route", "/transfer")))
	_, child := tracer.Start(ctx, "redis GET")
	child.RecordError(errors.New("i/o timeout"))
	child.SetStatus(codes.Error, "i/o timeout")
	time.Sleep(2 * time.Millisecond)
	child.End()
	parent.End()
	if err := tracerProvider.Shutdown(context.Background()); err != nil {
		log.Fatal(err)
	}

	metricExporter, err := otlpmetrichttp.New(context.Background(), otlpmetrichttp.WithInsecure())
	if err != nil {
		log.Fatal(err)
	}
	reader := sdkmetric.NewPeriodicReader(metricExporter, sdkmetric.WithInterval(time.Hour))
	meterProvider := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(reader))
	meter := meterProvider.Meter("ledger")
	requests, _ := meter.Int64Counter("http.requests")
	requests.Add(context.Background(), 5, metric.WithAttributes(attribute.String("route", "/transfer")))
	breaker, _ := meter.Int64Gauge("breaker.state")
	breaker.Record(context.Background(), 2, metric.WithAttributes(attribute.String("dependency", "redis")))
	if err := meterProvider.Shutdown(context.Background()); err != nil {
		log.Fatal(err)
	}
}
