package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	v1 "github.com/prometheus/prometheus/web/api/v1"
)

// remoteT0 is when the fixture's series start.
var remoteT0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// Bodies copied from the Prometheus HTTP API documentation
// (docs/querying/api.md of prometheus v0.316.0,
// https://prometheus.io/docs/prometheus/latest/querying/api/).
const (
	// docVector is the documentation's instant query example, verbatim: `up`
	// evaluated at 2015-07-01T20:10:51.781Z.
	docVector = `{
   "status" : "success",
   "data" : {
      "resultType" : "vector",
      "result" : [
         {
            "metric" : {
               "__name__" : "up",
               "job" : "prometheus",
               "instance" : "localhost:9090"
            },
            "value": [ 1435781451.781, "1" ]
         },
         {
            "metric" : {
               "__name__" : "up",
               "job" : "node",
               "instance" : "localhost:9100"
            },
            "value" : [ 1435781451.781, "0" ]
         }
      ]
   }
}`
	// docScalar fills the documentation's scalar format,
	// `[ <unix_time>, "<scalar_value>" ]`, with the vector example's time;
	// the documentation has no complete scalar response.
	docScalar = `{
   "status" : "success",
   "data" : {
      "resultType" : "scalar",
      "result" : [ 1435781451.781, "2.5" ]
   }
}`
	// docError fills the documented envelope of an error with the text
	// Prometheus gives for an unparsable query.
	docError = `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:6: parse error: unexpected end of input"}`
	// docMatrix follows the documented range vector format.
	docMatrix = `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up"},"values":[[1435781430.781,"1"],[1435781445.781,"1"]]}]}}`
	// docHistogram follows the documented native histogram format.
	docHistogram = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"lat"},"histogram":[1435781451.781,{"count":"42","sum":"34593.34","buckets":[[3,"-0.25","0.25","3"],[0,"0.25","0.5","12"]]}]}]}}`
	// specialValues is a vector of the value strings PromQL produces that
	// JSON numbers cannot carry.
	specialValues = `{"status":"success","data":{"resultType":"vector","result":[` +
		`{"metric":{"k":"nan"},"value":[1,"NaN"]},{"metric":{"k":"inf"},"value":[1,"+Inf"]},` +
		`{"metric":{"k":"neg"},"value":[1,"-Inf"]},{"metric":{"k":"tiny"},"value":[1,"1e-09"]}]}}`
	html503 = "<html><head><title>503 Service Unavailable</title></head>\n<body><h1>503 Service Unavailable</h1>No server is available to handle this request.</body></html>\n"
)

// openRemoteFixture opens an Embedded TSDB holding ten minutes of request
// counters (8 ok and 2 failing requests a second, every 15 s) and gauges
// with awkward values and label values.
func openRemoteFixture(t *testing.T) *Embedded {
	t.Helper()
	e, err := OpenEmbedded(t.TempDir(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	ctx := context.Background()
	for i := 0; i <= 40; i++ {
		at := remoteT0.Add(time.Duration(i) * 15 * time.Second)
		for status, perSec := range map[string]float64{"200": 8, "500": 2} {
			lbls := map[string]string{"__name__": "http_requests_total", "status": status, "version": "1.1.0"}
			if err := e.Append(ctx, lbls, at, perSec*15*float64(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	end := remoteT0.Add(10 * time.Minute)
	for kind, v := range map[string]float64{
		"nan": math.NaN(), "inf": math.Inf(1), "neg_inf": math.Inf(-1),
		"tiny": 1e-9, "huge": 1.5e300, "sum": 0.1 + 0.2, "negative_zero": math.Copysign(0, -1),
	} {
		if err := e.Append(ctx, map[string]string{"__name__": "special_values", "kind": kind}, end, v); err != nil {
			t.Fatal(err)
		}
	}
	odd := map[string]string{"__name__": "odd_labels", "note": "say \"hi\" \\ ü — 日本", "empty_looking": " ", "url": "http://x/?a=1&b=<2>"}
	if err := e.Append(ctx, odd, end, 42); err != nil {
		t.Fatal(err)
	}
	return e
}

// prometheusAPI serves /api/v1/query the way Prometheus does: it evaluates
// the query with e's own engine and storage and encodes the answer, result or
// error, with the JSON codec of Prometheus' web API, so the bodies Remote
// decodes are byte for byte what a Prometheus server would send.
func prometheusAPI(t *testing.T, e *Embedded) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != queryPath {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.URL.RawQuery != "" {
			t.Errorf("request %s %s with Content-Type %q, want a form-encoded POST", r.Method, r.URL, r.Header.Get("Content-Type"))
		}
		if err := r.ParseForm(); err != nil {
			writeAPI(t, w, http.StatusBadRequest, &v1.Response{Status: "error", ErrorType: "bad_data", Error: err.Error()})
			return
		}
		if _, err := model.ParseDuration(r.PostForm.Get("timeout")); err != nil {
			t.Errorf("timeout parameter: %v", err)
		}
		at, err := parsePromTime(r.PostForm.Get("time"))
		if err != nil {
			writeAPI(t, w, http.StatusBadRequest, &v1.Response{Status: "error", ErrorType: "bad_data", Error: fmt.Sprintf("invalid parameter %q: %v", "time", err)})
			return
		}
		q, err := e.engine.NewInstantQuery(r.Context(), e.db, nil, r.PostForm.Get("query"), at)
		if err != nil {
			writeAPI(t, w, http.StatusBadRequest, &v1.Response{Status: "error", ErrorType: "bad_data", Error: fmt.Sprintf("invalid parameter %q: %v", "query", err)})
			return
		}
		defer q.Close()
		res := q.Exec(r.Context())
		if res.Err != nil {
			writeAPI(t, w, http.StatusUnprocessableEntity, &v1.Response{Status: "error", ErrorType: "execution", Error: res.Err.Error()})
			return
		}
		writeAPI(t, w, http.StatusOK, &v1.Response{Status: "success", Data: &v1.QueryData{ResultType: res.Value.Type(), Result: res.Value}})
	}
}

func writeAPI(t *testing.T, w http.ResponseWriter, code int, resp *v1.Response) {
	b, err := v1.JSONCodec{}.Encode(resp)
	if err != nil {
		t.Errorf("encode response: %v", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// parsePromTime is Prometheus' parseTime (web/api/v1/api.go) without the
// special boundary times: Unix seconds with a fraction, or RFC 3339.
func parsePromTime(s string) (time.Time, error) {
	if t, err := strconv.ParseFloat(s, 64); err == nil {
		s, ns := math.Modf(t)
		ns = math.Round(ns*1000) / 1000
		return time.Unix(int64(s), int64(ns*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// literal serves body with code on every path.
func literal(code int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}
}

func newTestRemote(t *testing.T, cfg RemoteConfig) *Remote {
	t.Helper()
	r, err := NewRemote(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// sortedSamples orders samples by their label sets: the API does not promise
// an order for instant vectors.
func sortedSamples(s []Sample) []Sample {
	out := append([]Sample(nil), s...)
	sort.SliceStable(out, func(i, j int) bool {
		return labels.FromMap(out[i].Labels).String() < labels.FromMap(out[j].Labels).String()
	})
	return out
}

// sameSamples reports whether a and b hold the same series with identical
// values (NaN equal to NaN, -0 distinct from 0), nil Labels (a scalar)
// distinct from empty ones, and an empty result distinct from nil.
func sameSamples(a, b []Sample) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		if !reflect.DeepEqual(a[i].Labels, b[i].Labels) || (a[i].Labels == nil) != (b[i].Labels == nil) {
			return false
		}
		if math.Float64bits(a[i].Value) != math.Float64bits(b[i].Value) && !(math.IsNaN(a[i].Value) && math.IsNaN(b[i].Value)) {
			return false
		}
	}
	return true
}

// TestRemoteMatchesEmbedded evaluates expressions with an Embedded TSDB
// directly and through Remote against a server answering from the same TSDB
// with Prometheus' own JSON encoding: both Sources must agree exactly, labels,
// values (NaN and infinities included), scalar versus vector, and empty
// results. Each case's size is checked first so that no case passes by both
// sides returning nothing.
func TestRemoteMatchesEmbedded(t *testing.T) {
	t.Parallel()
	e := openRemoteFixture(t)
	srv := serve(t, prometheusAPI(t, e))
	remote := newTestRemote(t, RemoteConfig{URL: srv.URL})
	end := remoteT0.Add(10 * time.Minute)
	long := "sum(http_requests_total)" + strings.Repeat(" + 0 * sum(http_requests_total)", 300)
	cases := []struct {
		name   string
		expr   string
		at     time.Time
		n      int
		scalar bool
	}{
		{"vector selector", `http_requests_total`, end, 2, false},
		{"vector selector earlier", `http_requests_total`, remoteT0.Add(5*time.Minute + 500*time.Millisecond), 2, false},
		{"matcher", `http_requests_total{status=~"5.."}`, end, 1, false},
		{"sum of rates", `sum(rate(http_requests_total[1m]))`, end, 1, false},
		{"rate by status", `sum by (status) (rate(http_requests_total[1m]))`, end, 2, false},
		{"error ratio", `sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))`, end, 1, false},
		{"guide rule", `rate(http_requests_total{status=~"5.."}[5m]) / rate(http_requests_total[5m]) > 0.05`, end, 1, false},
		{"scalar", `scalar(vector(2))`, end, 1, true},
		{"evaluation time to the millisecond", `time()`, remoteT0.Add(3*time.Minute + 781*time.Millisecond + 999*time.Microsecond), 1, true},
		{"vector without labels", `vector(1)`, end, 1, false},
		{"special values", `special_values`, end, 7, false},
		{"NaN scalar", `0/0`, end, 1, true},
		{"negative infinity scalar", `-1/0`, end, 1, true},
		{"awkward label values", `odd_labels`, end, 1, false},
		{"empty result", `no_such_metric`, end, 0, false},
		{"long expression", long, end, 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			want, err := e.Query(ctx, tc.expr, tc.at)
			if err != nil {
				t.Fatalf("Embedded: %v", err)
			}
			if len(want) != tc.n || (tc.n > 0 && (want[0].Labels == nil) != tc.scalar) {
				t.Fatalf("fixture: Embedded gives %+v, want %d samples (scalar %v)", want, tc.n, tc.scalar)
			}
			got, err := remote.Query(ctx, tc.expr, tc.at)
			if err != nil {
				t.Fatalf("Remote: %v", err)
			}
			if !sameSamples(sortedSamples(got), sortedSamples(want)) {
				t.Errorf("Remote  = %#v\nEmbedded = %#v", got, want)
			}
		})
	}
	// Spot-check that agreement means correct values, not shared mistakes.
	got, err := remote.Query(context.Background(), `time()`, remoteT0.Add(781*time.Millisecond))
	if err != nil || len(got) != 1 || got[0].Value != float64(remoteT0.Unix())+0.781 {
		t.Errorf("time() = %+v, %v; want %v", got, err, float64(remoteT0.Unix())+0.781)
	}
	got, err = remote.Query(context.Background(), `sum(rate(http_requests_total{status="500"}[1m]))`, end)
	if err != nil || len(got) != 1 || math.Abs(got[0].Value-2) > 1e-9 {
		t.Errorf("5xx rate = %+v, %v; want 2/s", got, err)
	}
}

// TestRemoteReportsServerErrors checks Remote's errors for answers a real
// evaluation gives: an unparsable expression (HTTP 400 bad_data, carrying the
// parser's own message), a failed evaluation (HTTP 422 execution), and the
// two result types a rule cannot use, a range vector and a string, which
// Embedded rejects as well.
func TestRemoteReportsServerErrors(t *testing.T) {
	t.Parallel()
	e := openRemoteFixture(t)
	srv := serve(t, prometheusAPI(t, e))
	remote := newTestRemote(t, RemoteConfig{URL: srv.URL})
	ctx := context.Background()
	at := remoteT0.Add(10 * time.Minute)

	broken := `sum(rate(http_requests_total[5m])`
	parseErr := errors.Unwrap(Validate(broken))
	_, err := remote.Query(ctx, broken, at)
	var rerr *RemoteError
	if !errors.As(err, &rerr) || rerr.StatusCode != http.StatusBadRequest || rerr.Type != "bad_data" || !strings.Contains(err.Error(), parseErr.Error()) {
		t.Errorf("broken PromQL: %v; want HTTP 400 bad_data with %q", err, parseErr)
	}

	dup := `http_requests_total + on(version) http_requests_total`
	if _, err := e.Query(ctx, dup, at); err == nil {
		t.Fatal("fixture: duplicate match group evaluated")
	}
	_, err = remote.Query(ctx, dup, at)
	if !errors.As(err, &rerr) || rerr.StatusCode != http.StatusUnprocessableEntity || rerr.Type != "execution" || !strings.Contains(err.Error(), "duplicate series") {
		t.Errorf("failing evaluation: %v; want HTTP 422 execution", err)
	}

	for expr, typ := range map[string]string{`http_requests_total[1m]`: "matrix", `"hello"`: "string"} {
		if _, err := e.Query(ctx, expr, at); err == nil {
			t.Errorf("fixture: Embedded accepted %s", expr)
		}
		_, err := remote.Query(ctx, expr, at)
		if err == nil || !strings.Contains(err.Error(), "result type is "+typ) {
			t.Errorf("%s: %v; want an error naming %s", expr, err, typ)
		}
	}
}

// TestRemoteDecodesDocumentedResponses serves response bodies copied from the
// Prometheus documentation, so the server-side encoder of the other tests
// cannot share a misunderstanding with the decoder, and checks the exact
// samples, in the order of the body. The documentation's example evaluates at
// 2015-07-01T20:10:51.781Z; the time parameter sent for it must be the
// documented 1435781451.781.
func TestRemoteDecodesDocumentedResponses(t *testing.T) {
	t.Parallel()
	docTime := time.Date(2015, 7, 1, 20, 10, 51, 781_000_000, time.UTC)
	for _, tc := range []struct {
		name string
		body string
		want []Sample
	}{
		{"vector", docVector, []Sample{
			{Labels: map[string]string{"__name__": "up", "job": "prometheus", "instance": "localhost:9090"}, Value: 1},
			{Labels: map[string]string{"__name__": "up", "job": "node", "instance": "localhost:9100"}, Value: 0},
		}},
		{"scalar", docScalar, []Sample{{Value: 2.5}}},
		{"special values", specialValues, []Sample{
			{Labels: map[string]string{"k": "nan"}, Value: math.NaN()},
			{Labels: map[string]string{"k": "inf"}, Value: math.Inf(1)},
			{Labels: map[string]string{"k": "neg"}, Value: math.Inf(-1)},
			{Labels: map[string]string{"k": "tiny"}, Value: 1e-9},
		}},
		{"empty vector", `{"status":"success","data":{"resultType":"vector","result":[]}}`, []Sample{}},
		{"vector with warnings and stats", `{"status":"success","warnings":["PromQL warning: x"],"data":{"resultType":"vector","result":[{"metric":{},"value":[1,"3"]}],"stats":{"timings":{}}}}`,
			[]Sample{{Labels: map[string]string{}, Value: 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != queryPath || r.FormValue("query") != "up" || r.FormValue("time") != "1435781451.781" {
					t.Errorf("request %s %s query=%q time=%q", r.Method, r.URL.Path, r.FormValue("query"), r.FormValue("time"))
				}
				literal(http.StatusOK, "application/json", tc.body)(w, r)
			}))
			got, err := newTestRemote(t, RemoteConfig{URL: srv.URL}).Query(context.Background(), "up", docTime)
			if err != nil {
				t.Fatal(err)
			}
			if !sameSamples(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

// TestRemoteRejectsUnusableAnswers checks that every answer that is not a
// usable result is an error carrying the HTTP status, and, where the body is
// not a Prometheus API error, an excerpt of the body no longer than 512
// bytes: nothing is dropped silently or read as an empty result.
func TestRemoteRejectsUnusableAnswers(t *testing.T) {
	t.Parallel()
	longPage := "<html>" + strings.Repeat("proxy error ", 200) + "</html>"
	for _, tc := range []struct {
		name     string
		code     int
		body     string
		typ      string   // RemoteError.Type
		contains []string // in the error text
	}{
		{"bad_data error", 400, docError, "bad_data", []string{"HTTP 400 Bad Request", `invalid parameter "query": 1:6: parse error: unexpected end of input`}},
		{"timeout error", 503, `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`, "timeout", []string{"HTTP 503", "query timed out"}},
		{"error without type", 500, `{"status":"error"}`, "unknown", []string{"HTTP 500", "(no error message)"}},
		{"HTML page", 503, html503, "", []string{"HTTP 503 Service Unavailable", "not a Prometheus API response", "<html><head><title>503 Service Unavailable"}},
		{"long HTML page", 502, longPage, "", []string{"HTTP 502 Bad Gateway", fmt.Sprintf("body (%d bytes) starts", len(longPage))}},
		{"matrix", 200, docMatrix, "", []string{"HTTP 200 OK", "result type is matrix"}},
		{"string", 200, `{"status":"success","data":{"resultType":"string","result":[1435781451.781,"hello"]}}`, "", []string{"result type is string"}},
		{"native histogram", 200, docHistogram, "", []string{"native histogram"}},
		{"malformed JSON", 200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}`, "", []string{"HTTP 200 OK", "not a Prometheus API response", `resultType`}},
		{"empty body", 200, ``, "", []string{"HTTP 200 OK", "not a Prometheus API response"}},
		{"success with error status", 500, docVector, "", []string{"HTTP 500", "non-2xx"}},
		{"unknown status", 200, `{"status":"partial","data":{}}`, "", []string{`"partial"`}},
		{"no data", 200, `{"status":"success"}`, "", []string{"data"}},
		{"unknown result type", 200, `{"status":"success","data":{"resultType":"table","result":[]}}`, "", []string{`unknown result type "table"`}},
		{"value not a string", 200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,1]}]}}`, "", []string{"sample value is not a string"}},
		{"value not a number", 200, `{"status":"success","data":{"resultType":"scalar","result":[1,"one"]}}`, "", []string{`sample value "one" is not a number`}},
		{"value missing", 200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"}}]}}`, "", []string{"series 0 has no value"}},
		{"short sample", 200, `{"status":"success","data":{"resultType":"scalar","result":["1"]}}`, "", []string{"1 elements"}},
		{"null time", 200, `{"status":"success","data":{"resultType":"scalar","result":[null,"1"]}}`, "", []string{"sample time is not a number"}},
		{"null label", 200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":null},"value":[1,"1"]}]}}`, "", []string{`label "a" is null`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, literal(tc.code, "text/html", tc.body))
			got, err := newTestRemote(t, RemoteConfig{URL: srv.URL}).Query(context.Background(), "up", remoteT0)
			if err == nil {
				t.Fatalf("got %+v, want an error", got)
			}
			var rerr *RemoteError
			if !errors.As(err, &rerr) || rerr.StatusCode != tc.code || rerr.Type != tc.typ {
				t.Fatalf("error %v (%#v); want a RemoteError with status %d and type %q", err, rerr, tc.code, tc.typ)
			}
			if len(rerr.Excerpt) > excerptBytes || (tc.typ == "" && !strings.HasPrefix(tc.body, rerr.Excerpt)) {
				t.Errorf("excerpt %q: want the body's first ≤%d bytes", rerr.Excerpt, excerptBytes)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

// TestRemoteSendsCredentialsAndNeverLeaksThem checks that the bearer token
// and extra headers reach the server, and that the token appears in no
// error, even from servers that echo it: in an HTML page, in a Prometheus
// error message, straddling the excerpt's 512-byte limit, or when the server
// is gone.
func TestRemoteSendsCredentialsAndNeverLeaksThem(t *testing.T) {
	t.Parallel()
	const token = "tok-3f9a0c1d7e2b4a65"
	ok := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer "+token {
			t.Errorf("Authorization = %q", got)
		}
		if got := r.Header.Get("X-Scope-OrgID"); got != "tenant-1" {
			t.Errorf("X-Scope-OrgID = %q", got)
		}
		if r.Host != "prometheus.internal" {
			t.Errorf("Host = %q", r.Host)
		}
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("Accept = %q", got)
		}
		literal(http.StatusOK, "application/json", docScalar)(w, r)
	}))
	cfg := RemoteConfig{URL: ok.URL, BearerToken: token, Headers: map[string]string{"x-scope-orgid": "tenant-1", "Host": "prometheus.internal"}}
	if got, err := newTestRemote(t, cfg).Query(context.Background(), "up", remoteT0); err != nil || len(got) != 1 {
		t.Fatalf("authorised query = %+v, %v", got, err)
	}

	echo := func(format string, offset int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, "%s"+format, strings.Repeat(" ", offset), r.Header.Get("Authorization"))
		}
	}
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	for name, url := range map[string]string{
		"HTML echo":         serve(t, echo("<html>denied for %q</html>", 0)).URL,
		"API error echo":    serve(t, echo(`{"status":"error","errorType":"bad_data","error":"bad header %s"}`, 0)).URL,
		"echo at the limit": serve(t, echo("%s and more", excerptBytes-20)).URL,
		"server gone":       gone.URL,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := RemoteConfig{URL: url, BearerToken: token}
			_, err := newTestRemote(t, cfg).Query(context.Background(), "up", remoteT0)
			if err == nil {
				t.Fatal("no error")
			}
			for _, leak := range []string{token, token[:8], token[len(token)-8:]} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error %q contains the token", err)
				}
			}
		})
	}
}

// TestRemoteFallsBackToGet checks that a server refusing POST is asked again
// with GET, and that a base URL's path prefix and query parameters are kept.
func TestRemoteFallsBackToGet(t *testing.T) {
	t.Parallel()
	var posts atomic.Int32
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		q := r.URL.Query()
		if r.URL.Path != "/prom/api/v1/query" || q.Get("tenant") != "a" || q.Get("query") != "up" || q.Get("time") != formatTime(remoteT0) || q.Get("timeout") != "2s" {
			t.Errorf("GET %s", r.URL)
		}
		literal(http.StatusOK, "application/json", docVector)(w, r)
	}))
	remote := newTestRemote(t, RemoteConfig{URL: srv.URL + "/prom/?tenant=a", Timeout: 2 * time.Second})
	got, err := remote.Query(context.Background(), "up", remoteT0)
	if err != nil || len(got) != 2 || posts.Load() != 1 {
		t.Errorf("Query = %+v, %v after %d POSTs; want the documented vector after one POST", got, err, posts.Load())
	}
}

// blockingServer never answers until the test ends; arrived receives when a
// request is being handled.
func blockingServer(t *testing.T) (*httptest.Server, <-chan struct{}) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := serve(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release) }) // runs before srv.Close, which waits for handlers
	return srv, arrived
}

// TestRemoteCancellation checks that a Query waiting for a server returns
// when its context is cancelled, with the context's error, and that one
// outlasting Timeout ends with context.DeadlineExceeded. The server blocks
// until the test ends, so only cancellation can end these queries.
func TestRemoteCancellation(t *testing.T) {
	t.Parallel()
	t.Run("cancelled while waiting", func(t *testing.T) {
		t.Parallel()
		srv, arrived := blockingServer(t)
		remote := newTestRemote(t, RemoteConfig{URL: srv.URL, Timeout: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := remote.Query(ctx, "up", remoteT0)
			done <- err
		}()
		<-arrived
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Query = %v, want context.Canceled", err)
		}
	})
	t.Run("cancelled before", func(t *testing.T) {
		t.Parallel()
		srv, _ := blockingServer(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := newTestRemote(t, RemoteConfig{URL: srv.URL}).Query(ctx, "up", remoteT0); !errors.Is(err, context.Canceled) {
			t.Errorf("Query = %v, want context.Canceled", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		srv, _ := blockingServer(t)
		_, err := newTestRemote(t, RemoteConfig{URL: srv.URL, Timeout: time.Millisecond}).Query(context.Background(), "up", remoteT0)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within 1ms") {
			t.Errorf("Query = %v, want a deadline error naming the timeout", err)
		}
	})
}

// TestNewRemoteValidatesConfig checks the configurations NewRemote refuses,
// that refusing one never prints a password or token, and the defaults of an
// accepted one.
func TestNewRemoteValidatesConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]RemoteConfig{
		"empty URL":                {},
		"no scheme":                {URL: "localhost:9090"},
		"other scheme":             {URL: "ftp://prometheus:9090"},
		"relative":                 {URL: "/api"},
		"no host":                  {URL: "http://"},
		"port only":                {URL: "http://:9090"},
		"endpoint instead of base": {URL: "http://prometheus:9090/api/v1/query"},
		"fragment":                 {URL: "http://prometheus:9090/#x"},
		"unparsable":               {URL: "http://prometheus:9090/\x7f"},
		"password and token":       {URL: "http://u:hunter2@prometheus:9090", BearerToken: "s3cr3t"},
		"negative timeout":         {URL: "http://p", Timeout: -time.Second},
		"sub-millisecond timeout":  {URL: "http://p", Timeout: time.Microsecond},
		"token with newline":       {URL: "http://p", BearerToken: "s3cr3t\nX-Evil: 1"},
		"header name":              {URL: "http://p", Headers: map[string]string{"Bad Name": "x"}},
		"header value":             {URL: "http://p", Headers: map[string]string{"X-A": "a\r\nX-Evil: 1"}},
		"content type":             {URL: "http://p", Headers: map[string]string{"content-type": "application/json"}},
		"two authorizations":       {URL: "http://p", BearerToken: "s3cr3t", Headers: map[string]string{"Authorization": "Basic eA=="}},
		"header twice":             {URL: "http://p", Headers: map[string]string{"x-a": "1", "X-A": "2"}},
	} {
		r, err := NewRemote(cfg)
		if err == nil {
			t.Errorf("%s: accepted as %s", name, r.endpoint)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: error %q reveals a secret", name, err)
		}
	}
	for url, want := range map[string]string{
		"http://prometheus:9090":             "http://prometheus:9090/api/v1/query",
		"https://example.com/prometheus/":    "https://example.com/prometheus/api/v1/query",
		"HTTPS://example.com/p?tenant=a":     "https://example.com/p/api/v1/query?tenant=a",
		"http://u:hunter2@prometheus:9090/x": "http://u:xxxxx@prometheus:9090/x/api/v1/query",
	} {
		r, err := NewRemote(RemoteConfig{URL: url})
		if err != nil || r.redactedURL != want || r.timeout != 10*time.Second || r.timeoutArg != "10s" || r.client != http.DefaultClient {
			t.Errorf("NewRemote(%q) = %+v, %v; want endpoint %s, 10s timeout, default client", url, r, err, want)
		}
	}
	if r, err := NewRemote(RemoteConfig{URL: "http://p", Timeout: 1500 * time.Millisecond}); err != nil || r.timeoutArg != "1s500ms" {
		t.Errorf("1.5s timeout = %+v, %v", r, err)
	}
}

// TestFormatTime checks the time parameter against the documentation's
// example and Prometheus' parser: milliseconds exactly, sub-millisecond
// parts dropped as the engine drops them, and times before 1970.
func TestFormatTime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2015, 7, 1, 20, 10, 51, 781_000_000, time.UTC), "1435781451.781"},
		{time.Date(2015, 7, 1, 20, 10, 51, 781_999_999, time.UTC).In(time.FixedZone("x", 3600)), "1435781451.781"},
		{time.Unix(1435781451, 0), "1435781451.000"},
		{time.Unix(0, 5_000_000), "0.005"},
		{time.Unix(-2, 500_000_000), "-1.500"},
	} {
		got := formatTime(tc.at)
		if got != tc.want {
			t.Errorf("formatTime(%s) = %s, want %s", tc.at, got, tc.want)
		}
		if back, err := parsePromTime(got); err != nil || !back.Equal(tc.at.Truncate(time.Millisecond)) {
			t.Errorf("Prometheus reads %s as %s, %v; want %s", got, back, err, tc.at.Truncate(time.Millisecond))
		}
	}
}

// FuzzRemoteDecode: response bodies come from the network, from servers and
// proxies of any quality; decoding one never panics, yields either samples
// or a *RemoteError with the status and a bounded excerpt, and succeeds only
// for a 2xx status.
func FuzzRemoteDecode(f *testing.F) {
	for _, seed := range []struct {
		code int
		body string
	}{
		{200, docVector}, {200, docScalar}, {400, docError}, {200, docMatrix}, {200, docHistogram},
		{200, specialValues}, {503, html503}, {200, `{"status":"success","data":{"resultType":"vector","result":[]}}`},
		{200, `{"status":"success","data":{"resultType":"string","result":[1,"x"]}}`},
		{200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":null},"value":[1,"1"]}]}}`},
		{200, ""}, {0, "{}"}, {599, "null"},
	} {
		f.Add(seed.code, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, code int, body []byte) {
		got, err := decodeQueryResponse(code, body)
		if (got == nil) == (err == nil) {
			t.Fatalf("samples %v and error %v", got, err)
		}
		if err == nil {
			if code < 200 || code > 299 {
				t.Errorf("status %d decoded as a result", code)
			}
			return
		}
		var rerr *RemoteError
		if !errors.As(err, &rerr) || rerr.StatusCode != code || len(rerr.Excerpt) > excerptBytes || err.Error() == "" {
			t.Fatalf("error %#v", err)
		}
		if rerr.Type == "" && !strings.HasPrefix(string(body), rerr.Excerpt) {
			t.Errorf("excerpt %q is not the start of the body", rerr.Excerpt)
		}
	})
}
