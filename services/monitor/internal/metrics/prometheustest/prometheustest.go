// Package prometheustest serves the Prometheus HTTP query API
// (/api/v1/query) over an embedded store, for tests of code that talks to a
// remote Prometheus: queries are evaluated by the real engine and answers
// encoded by Prometheus' own web API codec. Tests only.
package prometheustest

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	v1 "github.com/prometheus/prometheus/web/api/v1"

	"github.com/penguinmails/floe/services/monitor/internal/metrics"
)

// Server is a Prometheus query API over an Embedded store.
type Server struct {
	Store *metrics.Embedded

	mu       sync.Mutex
	queries  []string
	authz    []string
	requests int
}

// Queries returns the queries received so far, and the Authorization headers that came with them.
func (s *Server) Queries() (queries, authorization []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...), append([]string(nil), s.authz...)
}

// ServeHTTP answers POST or GET /api/v1/query with query and time parameters.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		write(w, http.StatusBadRequest, &v1.Response{Status: "error", ErrorType: "bad_data", Error: err.Error()})
		return
	}
	query := r.Form.Get("query")
	s.mu.Lock()
	s.queries, s.authz = append(s.queries, query), append(s.authz, r.Header.Get("Authorization"))
	s.mu.Unlock()
	at := time.Now()
	if t := r.Form.Get("time"); t != "" {
		f, err := strconv.ParseFloat(t, 64)
		if err != nil {
			write(w, http.StatusBadRequest, &v1.Response{Status: "error", ErrorType: "bad_data", Error: fmt.Sprintf("invalid parameter \"time\": %v", err)})
			return
		}
		sec, frac := math.Modf(f)
		at = time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond))
	}
	res, err := s.Store.Query(r.Context(), query, at)
	if err != nil {
		write(w, http.StatusBadRequest, &v1.Response{Status: "error", ErrorType: "bad_data", Error: err.Error()})
		return
	}
	vec := make(promql.Vector, 0, len(res))
	for _, smp := range res {
		vec = append(vec, promql.Sample{Metric: labels.FromMap(smp.Labels), T: at.UnixMilli(), F: smp.Value})
	}
	write(w, http.StatusOK, &v1.Response{Status: "success", Data: &v1.QueryData{ResultType: vec.Type(), Result: vec}})
}

func write(w http.ResponseWriter, code int, resp *v1.Response) {
	b, err := v1.JSONCodec{}.Encode(resp)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
