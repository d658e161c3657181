// Package metrics is the monitor's metric source: an embedded default that
// scrapes Prometheus exposition endpoints into an in-process TSDB and
// evaluates real PromQL with the Prometheus engine, behind a small interface
// so the engine's unstable Go API stays in this package.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/tsdb"
)

// Sample is one series' value of a query result.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Source evaluates PromQL.
type Source interface {
	// Query evaluates expr at time at: an instant vector (or a scalar as one unlabelled sample).
	Query(ctx context.Context, expr string, at time.Time) ([]Sample, error)
}

// Validate reports whether expr is valid PromQL.
func Validate(expr string) error {
	if _, err := parser.NewParser(parser.Options{}).ParseExpr(expr); err != nil {
		return fmt.Errorf("invalid PromQL %q: %w", expr, err)
	}
	return nil
}

// Embedded is an in-process TSDB with the PromQL engine.
type Embedded struct {
	db     *tsdb.DB
	engine *promql.Engine
	mu     sync.Mutex
	client *http.Client
}

// OpenEmbedded opens (or creates) a TSDB in dir.
func OpenEmbedded(dir string, retention time.Duration) (*Embedded, error) {
	opts := tsdb.DefaultOptions()
	opts.RetentionDuration = retention.Milliseconds()
	db, err := tsdb.Open(dir, nil, nil, opts, nil)
	if err != nil {
		return nil, fmt.Errorf("open tsdb: %w", err)
	}
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 5_000_000, Timeout: 30 * time.Second, LookbackDelta: 5 * time.Minute})
	return &Embedded{db: db, engine: engine, client: &http.Client{Timeout: 10 * time.Second}}, nil
}

// Close closes the TSDB.
func (e *Embedded) Close() error { return e.db.Close() }

// Append stores one sample.
func (e *Embedded) Append(ctx context.Context, lbls map[string]string, at time.Time, v float64) error {
	app := e.db.Appender(ctx)
	if _, err := app.Append(0, labels.FromMap(lbls), at.UnixMilli(), v); err != nil {
		_ = app.Rollback()
		return err
	}
	return app.Commit()
}

// Scrape reads a Prometheus text exposition from url and stores every sample
// at time at, with extra labels added (e.g. job, instance).
func (e *Embedded) Scrape(ctx context.Context, url string, extra map[string]string, at time.Time) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: parse exposition: %w", url, err)
	}
	return e.ingest(ctx, families, extra, at)
}

// Gather stores what an in-process registry exposes, as a scrape of it
// would (the monitor inside `floe dev` reads its own registry this way).
func (e *Embedded) Gather(ctx context.Context, g prometheus.Gatherer, extra map[string]string, at time.Time) (int, error) {
	list, err := g.Gather()
	if err != nil && len(list) == 0 {
		return 0, fmt.Errorf("gather: %w", err)
	}
	families := make(map[string]*dto.MetricFamily, len(list))
	for _, mf := range list {
		families[mf.GetName()] = mf
	}
	return e.ingest(ctx, families, extra, at)
}

func (e *Embedded) ingest(ctx context.Context, families map[string]*dto.MetricFamily, extra map[string]string, at time.Time) (int, error) {
	app := e.db.Appender(ctx)
	n := 0
	ts := at.UnixMilli()
	add := func(name string, base map[string]string, v float64) error {
		l := map[string]string{"__name__": name}
		for k, val := range base {
			l[k] = val
		}
		for k, val := range extra {
			l[k] = val
		}
		_, err := app.Append(0, labels.FromMap(l), ts, v)
		n++
		return err
	}
	names := make([]string, 0, len(families))
	for name := range families {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		mf := families[name]
		for _, m := range mf.GetMetric() {
			base := map[string]string{}
			for _, lp := range m.GetLabel() {
				base[lp.GetName()] = lp.GetValue()
			}
			var err error
			switch {
			case m.GetCounter() != nil:
				err = add(name, base, m.GetCounter().GetValue())
			case m.GetGauge() != nil:
				err = add(name, base, m.GetGauge().GetValue())
			case m.GetUntyped() != nil:
				err = add(name, base, m.GetUntyped().GetValue())
			case m.GetHistogram() != nil:
				h := m.GetHistogram()
				count := histCount(h.GetSampleCount(), h.GetSampleCountFloat())
				hasInf := false
				for _, b := range h.GetBucket() {
					hasInf = hasInf || math.IsInf(b.GetUpperBound(), 1)
					bl := copyWith(base, "le", formatFloat(b.GetUpperBound()))
					if err = add(name+"_bucket", bl, histCount(b.GetCumulativeCount(), b.GetCumulativeCountFloat())); err != nil {
						break
					}
				}
				// The text format lists the +Inf bucket; a registry gathered
				// in process may leave it implicit (it equals the count).
				if err == nil && !hasInf {
					err = add(name+"_bucket", copyWith(base, "le", "+Inf"), count)
				}
				if err == nil {
					err = add(name+"_sum", base, h.GetSampleSum())
				}
				if err == nil {
					err = add(name+"_count", base, count)
				}
			case m.GetSummary() != nil:
				s := m.GetSummary()
				if err = add(name+"_sum", base, s.GetSampleSum()); err == nil {
					err = add(name+"_count", base, float64(s.GetSampleCount()))
				}
			}
			if err != nil {
				_ = app.Rollback()
				return 0, fmt.Errorf("store %s: %w", name, err)
			}
		}
	}
	return n, app.Commit()
}

// histCount is a histogram count, integer or (for float histograms) float.
func histCount(i uint64, f float64) float64 {
	if i == 0 && f != 0 {
		return f
	}
	return float64(i)
}

func copyWith(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

func formatFloat(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	return model.SampleValue(f).String()
}

// Query implements Source.
func (e *Embedded) Query(ctx context.Context, expr string, at time.Time) ([]Sample, error) {
	q, err := e.engine.NewInstantQuery(ctx, e.db, nil, expr, at)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, res.Err)
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		out := make([]Sample, 0, len(v))
		for _, s := range v {
			out = append(out, Sample{Labels: s.Metric.Map(), Value: s.F})
		}
		return out, nil
	case promql.Scalar:
		return []Sample{{Value: v.V}}, nil
	}
	return nil, errors.New("query " + expr + ": result is neither an instant vector nor a scalar")
}
