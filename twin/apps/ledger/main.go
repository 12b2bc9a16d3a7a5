// ledger is moat's Go service under test: a small HTTP API over Redis, configured from etcd,
// with a circuit breaker per dependency, instrumented with the OpenTelemetry Go SDK (traces and
// metrics over OTLP/HTTP) and a Prometheus /metrics endpoint.
//
//	POST /transfer {"from":"a1","to":"a2","amount":5}   moves an amount between two balances
//	GET  /balance?account=a1                           reads a balance
//	GET  /healthz                                      200 once the config is loaded
//	GET  /metrics                                      Prometheus text
//
// Environment: LEDGER_ADDR (:8080), REDIS_ADDR (127.0.0.1:6379), ETCD_ENDPOINTS (comma-separated
// http URLs), LEDGER_CONFIG_KEY (/ledger/config), OTEL_EXPORTER_OTLP_ENDPOINT (optional).
// The config in etcd is JSON: {"memoryLimitMiB":256,"breaker":{"errorRate":0.3,"timeoutMs":200,
// "sleepWindowMs":2000,"minRequests":10}}. It is read at start and every 5 s; the gauge
// ledger_config_revision says which write of the key is in force.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelmetric "go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

type breakerConfig struct {
	ErrorRate     float64 `json:"errorRate"`
	TimeoutMs     int     `json:"timeoutMs"`
	SleepWindowMs int     `json:"sleepWindowMs"`
	MinRequests   uint32  `json:"minRequests"`
}

type config struct {
	// MemoryLimitMiB binds the Go GC to a soft limit (runtime/debug.SetMemoryLimit); 0 leaves it off
	MemoryLimitMiB int64 `json:"memoryLimitMiB"`
	// ReceiptsMiB keeps the last transfers' receipts (4 KiB each) in memory up to this size: a
	// working set that grows with traffic; 0 keeps none
	ReceiptsMiB int64         `json:"receiptsMiB"`
	Breaker     breakerConfig `json:"breaker"`
	// revision is etcd's mod_revision of the config key this came from (0: the defaults)
	revision int64
}

func defaultConfig() config {
	return config{MemoryLimitMiB: 256, Breaker: breakerConfig{ErrorRate: 0.3, TimeoutMs: 200, SleepWindowMs: 2000, MinRequests: 10}}
}

// errShed is returned when a breaker is open: the request is refused at once.
var errShed = errors.New("shed: circuit open")

// dependency wraps calls to one dependency in a breaker and a timeout.
type dependency struct {
	name    string
	breaker atomic.Pointer[gobreaker.CircuitBreaker[any]]
	timeout atomic.Int64 // ms
	state   *prometheus.GaugeVec
	errors  *prometheus.CounterVec
	shed    *prometheus.CounterVec
	calls   *prometheus.HistogramVec
	tracer  trace.Tracer
	otelSt  otelmetric.Int64Gauge
}

func (d *dependency) configure(c breakerConfig) {
	d.timeout.Store(int64(c.TimeoutMs))
	settings := gobreaker.Settings{
		Name:        d.name,
		MaxRequests: 1,
		Interval:    5 * time.Second,
		Timeout:     time.Duration(c.SleepWindowMs) * time.Millisecond,
		ReadyToTrip: func(counts gobreaker.Counts) bool {
			return counts.Requests >= c.MinRequests && float64(counts.TotalFailures)/float64(counts.Requests) >= c.ErrorRate
		},
		OnStateChange: func(name string, from, to gobreaker.State) {
			d.setState(to)
			log.Printf("breaker %s: %s -> %s", name, from, to)
		},
	}
	d.breaker.Store(gobreaker.NewCircuitBreaker[any](settings))
	d.setState(gobreaker.StateClosed)
}

func (d *dependency) setState(s gobreaker.State) {
	value := map[gobreaker.State]float64{gobreaker.StateClosed: 0, gobreaker.StateHalfOpen: 1, gobreaker.StateOpen: 2}[s]
	d.state.WithLabelValues(d.name).Set(value)
	d.otelSt.Record(context.Background(), int64(value), otelmetric.WithAttributes(attribute.String("dependency", d.name)))
}

func (d *dependency) call(ctx context.Context, op string, fn func(context.Context) (any, error)) (any, error) {
	ctx, span := d.tracer.Start(ctx, d.name+" "+op, trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	start := time.Now()
	result, err := d.breaker.Load().Execute(func() (any, error) {
		callCtx, cancel := context.WithTimeout(ctx, time.Duration(d.timeout.Load())*time.Millisecond)
		defer cancel()
		return fn(callCtx)
	})
	d.calls.WithLabelValues(d.name).Observe(time.Since(start).Seconds())
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		d.shed.WithLabelValues(d.name).Inc()
		span.SetStatus(codes.Error, "shed")
		return nil, errShed
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		d.errors.WithLabelValues(d.name).Inc()
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return result, err
}

type server struct {
	rdb      *redis.Client
	redisDep *dependency
	etcdDep  *dependency
	etcd     []string
	key      string
	http     *http.Client
	ready    atomic.Bool
	config   atomic.Pointer[config]
	// configRevision is the etcd revision of the config in force: a config change proves it took effect
	configRevision prometheus.Gauge
	mu             sync.Mutex
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	otelReq        otelmetric.Int64Counter
	otelDur        otelmetric.Float64Histogram
	tracer         trace.Tracer
	receipts       receipts
}

// receipts is a ring of the last transfers' receipts, 4 KiB each, held in memory.
type receipts struct {
	mu   sync.Mutex
	ring [][]byte
	max  int
	next int
}

func (r *receipts) resize(max int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if max != r.max {
		r.ring, r.max, r.next = nil, max, 0
	}
}

func (r *receipts) add(from, to string, amount int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.max == 0 {
		return
	}
	b := make([]byte, 4096)
	n := copy(b, fmt.Sprintf(`{"from":%q,"to":%q,"amount":%d,"at":%d}`, from, to, amount, time.Now().UnixNano()))
	// every byte written: the receipt is resident, as a real record would be
	for i := n; i < len(b); i++ {
		b[i] = ' '
	}
	if len(r.ring) < r.max {
		r.ring = append(r.ring, b)
	} else {
		r.ring[r.next%r.max] = b
	}
	r.next++
}

// readConfig reads the config key through etcd's JSON gateway, first endpoint that answers.
func (s *server) readConfig(ctx context.Context) (*config, error) {
	body, _ := json.Marshal(map[string]string{"key": base64.StdEncoding.EncodeToString([]byte(s.key))})
	value, err := s.etcdDep.call(ctx, "range", func(ctx context.Context) (any, error) {
		var last error
		for _, endpoint := range s.etcd {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(endpoint, "/")+"/v3/kv/range", bytes.NewReader(body))
			resp, err := s.http.Do(req)
			if err != nil {
				last = err
				continue
			}
			var out struct {
				Kvs []struct {
					Value       string `json:"value"`
					ModRevision string `json:"mod_revision"`
				} `json:"kvs"`
			}
			err = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if err != nil {
				last = err
				continue
			}
			if len(out.Kvs) == 0 {
				return stored{}, nil
			}
			raw, err := base64.StdEncoding.DecodeString(out.Kvs[0].Value)
			if err != nil {
				return nil, err
			}
			revision, _ := strconv.ParseInt(out.Kvs[0].ModRevision, 10, 64)
			return stored{raw: raw, revision: revision}, nil
		}
		return nil, last
	})
	if err != nil {
		return nil, err
	}
	c := defaultConfig()
	kv, _ := value.(stored)
	if len(kv.raw) > 0 {
		if err := json.Unmarshal(kv.raw, &c); err != nil {
			return nil, fmt.Errorf("config %s: %w", s.key, err)
		}
	}
	c.revision = kv.revision
	return &c, nil
}

// stored is the config key as etcd holds it: its value and the revision that last wrote it.
type stored struct {
	raw      []byte
	revision int64
}

func (s *server) apply(c *config) {
	old := s.config.Load()
	s.config.Store(c)
	if old == nil || old.Breaker != c.Breaker {
		s.redisDep.configure(c.Breaker)
		// the etcd breaker keeps a longer timeout: config reads are not on the request path
		etcd := c.Breaker
		etcd.TimeoutMs = max(etcd.TimeoutMs, 1000)
		s.etcdDep.configure(etcd)
	}
	if c.MemoryLimitMiB > 0 {
		debug.SetMemoryLimit(c.MemoryLimitMiB << 20)
	} else {
		debug.SetMemoryLimit(math.MaxInt64)
	}
	s.receipts.resize(int(c.ReceiptsMiB) * 256)
	if s.configRevision != nil {
		s.configRevision.Set(float64(c.revision))
	}
}

func (s *server) watchConfig(ctx context.Context) {
	for {
		c, err := s.readConfig(ctx)
		if err == nil {
			s.apply(c)
			s.ready.Store(true)
		} else if !s.ready.Load() {
			log.Printf("config not loaded yet: %v", err)
		}
		wait := 5 * time.Second
		if !s.ready.Load() {
			wait = 200 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (s *server) observe(route string, start time.Time, code int) {
	s.requests.WithLabelValues(route, fmt.Sprint(code)).Inc()
	s.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	attrs := otelmetric.WithAttributes(attribute.String("route", route), attribute.Int("code", code))
	s.otelReq.Add(context.Background(), 1, attrs)
	s.otelDur.Record(context.Background(), float64(time.Since(start).Microseconds())/1000, attrs)
}

func statusFor(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, errShed):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	default:
		return http.StatusBadGateway
	}
}

func (s *server) transfer(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx, span := s.tracer.Start(r.Context(), "POST /transfer", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	var in struct {
		From   string `json:"from"`
		To     string `json:"to"`
		Amount int64  `json:"amount"`
	}
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&in) != nil || in.From == "" || in.To == "" || in.Amount <= 0 {
		http.Error(w, `expected POST {"from","to","amount" > 0}`, http.StatusBadRequest)
		s.observe("/transfer", start, http.StatusBadRequest)
		return
	}
	_, err := s.redisDep.call(ctx, "transfer", func(ctx context.Context) (any, error) {
		_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.DecrBy(ctx, "balance:"+in.From, in.Amount)
			p.IncrBy(ctx, "balance:"+in.To, in.Amount)
			return nil
		})
		return nil, err
	})
	if err == nil {
		s.receipts.add(in.From, in.To, in.Amount)
	}
	s.reply(w, span, "/transfer", start, err, func() string { return `{"ok":true}` })
}

// reply writes the JSON body (or the error with its status), marks the span and records the request.
func (s *server) reply(w http.ResponseWriter, span trace.Span, route string, start time.Time, err error, body func() string) {
	code := statusFor(err)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		http.Error(w, err.Error(), code)
	} else {
		w.Header().Set("content-type", "application/json")
		fmt.Fprint(w, body())
	}
	s.observe(route, start, code)
}

func (s *server) balance(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx, span := s.tracer.Start(r.Context(), "GET /balance", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	account := r.URL.Query().Get("account")
	if account == "" {
		http.Error(w, "expected ?account=", http.StatusBadRequest)
		s.observe("/balance", start, http.StatusBadRequest)
		return
	}
	value, err := s.redisDep.call(ctx, "get", func(ctx context.Context) (any, error) {
		v, err := s.rdb.Get(ctx, "balance:"+account).Int64()
		if errors.Is(err, redis.Nil) {
			return int64(0), nil
		}
		return v, err
	})
	s.reply(w, span, "/balance", start, err, func() string { return fmt.Sprintf(`{"account":%q,"balance":%d}`, account, value) })
}

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func main() {
	ctx := context.Background()
	res := resource.NewSchemaless(attribute.String("service.name", env("OTEL_SERVICE_NAME", "ledger")))
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res))
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" {
		if te, err := otlptracehttp.New(ctx); err == nil {
			tp = sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(te, sdktrace.WithBatchTimeout(time.Second)))
		}
		if me, err := otlpmetrichttp.New(ctx); err == nil {
			mp = sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(sdkmetric.NewPeriodicReader(me, sdkmetric.WithInterval(time.Second))))
		}
	}
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	tracer := tp.Tracer("ledger")
	meter := mp.Meter("ledger")

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	state := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ledger_breaker_state", Help: "circuit breaker state per dependency: 0 closed, 1 half-open, 2 open"}, []string{"dependency"})
	depErrors := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ledger_dependency_errors_total", Help: "failed dependency calls (timeouts included)"}, []string{"dependency"})
	shed := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ledger_shed_total", Help: "calls refused because the breaker was open"}, []string{"dependency"})
	calls := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ledger_dependency_duration_seconds", Help: "dependency call latency", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"dependency"})
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ledger_requests_total", Help: "HTTP requests by route and code"}, []string{"route", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ledger_request_duration_seconds", Help: "HTTP request latency", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"route"})
	configRevision := prometheus.NewGauge(prometheus.GaugeOpts{Name: "ledger_config_revision", Help: "etcd mod_revision of the config in force (0: the defaults)"})
	registry.MustRegister(state, depErrors, shed, calls, requests, duration, configRevision)
	otelState, _ := meter.Int64Gauge("ledger.breaker.state", otelmetric.WithDescription("0 closed, 1 half-open, 2 open"))
	otelReq, _ := meter.Int64Counter("ledger.requests")
	otelDur, _ := meter.Float64Histogram("ledger.request.duration", otelmetric.WithUnit("ms"))

	newDep := func(name string) *dependency {
		// every series exists from the start, at zero, so a baseline can be learnt for it
		depErrors.WithLabelValues(name)
		shed.WithLabelValues(name)
		return &dependency{name: name, state: state, errors: depErrors, shed: shed, calls: calls, tracer: tracer, otelSt: otelState}
	}
	s := &server{
		rdb:      redis.NewClient(&redis.Options{Addr: env("REDIS_ADDR", "127.0.0.1:6379"), DialTimeout: time.Second, MaxRetries: -1, PoolSize: 64, ContextTimeoutEnabled: true}),
		redisDep: newDep("redis"),
		etcdDep:  newDep("etcd"),
		etcd:     strings.Split(env("ETCD_ENDPOINTS", "http://127.0.0.1:2379"), ","),
		key:      env("LEDGER_CONFIG_KEY", "/ledger/config"),
		http:     &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}},
		requests: requests, duration: duration, otelReq: otelReq, otelDur: otelDur, tracer: tracer,
		configRevision: configRevision,
	}
	s.apply(func() *config { c := defaultConfig(); return &c }())
	go s.watchConfig(ctx)

	mux := http.NewServeMux()
	mux.HandleFunc("/transfer", s.transfer)
	mux.HandleFunc("/balance", s.balance)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "config not loaded", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	addr := env("LEDGER_ADDR", ":8080")
	log.Printf("ledger listening on %s (redis %s, etcd %v)", addr, s.rdb.Options().Addr, s.etcd)
	log.Fatal((&http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}).ListenAndServe())
}
