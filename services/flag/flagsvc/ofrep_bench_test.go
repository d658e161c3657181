package flagsvc_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/testkit"
)

// BenchmarkOFREP measures OFREP single evaluations over loopback HTTP
// against the running flag service (keep-alive connections, 16 goroutines
// per core, as a load generator's connections would), for a static flag and
// a fractional one, next to a baseline: a bare net/http handler on loopback
// answering a fixed JSON body of the same size, in the same run, so the
// flag service's own cost shows as the difference. Reports req/s (the
// client shares the machine's cores with the server). See
// docs/performance.md and tools/bench/ofrep-wrk.sh for the independent
// load generator's figures.
func BenchmarkOFREP(b *testing.B) {
	w := start(b)
	w.createFlags()
	o := w.ofrep()
	auth := "Bearer " + w.Token("grace")
	url := o.base + "/environments/production/ofrep/v1/evaluate/flags/"

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true}, Timeout: 10 * time.Second}
	post := func(target, body string) (int, []byte, error) {
		req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", auth)
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		return resp.StatusCode, data, err
	}
	// The flags are in the view once OFREP answers them.
	var sample []byte
	testkit.Eventually(b, func() error {
		for _, key := range []string{"banner-text", "new-welcome"} {
			status, body, err := post(url+key, `{"context": {"targetingKey": "user-1"}}`)
			if err != nil {
				return err
			}
			if status != http.StatusOK {
				return fmt.Errorf("%s: %d %s", key, status, body)
			}
			sample = body
		}
		return nil
	})

	// The baseline: the same client, loopback, a fixed body of the size of an
	// OFREP answer.
	fixed := append([]byte(nil), sample...)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(fixed)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	b.Cleanup(func() { _ = srv.Close() })
	baseURL := "http://" + lis.Addr().String() + "/ofrep/v1/evaluate/flags/"

	// Distinct targeting keys, so the split hashes a new value each time.
	bodies := make([]string, 1024)
	for i := range bodies {
		bodies[i] = fmt.Sprintf(`{"context": {"targetingKey": "user-%d", "plan": "pro"}}`, i)
	}
	for _, bc := range []struct {
		name, target string
		vary         bool
	}{
		{"baseline-fixed-json", baseURL + "banner-text", false},
		{"static", url + "banner-text", false},
		{"fractional", url + "new-welcome", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetParallelism(16)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					body := `{"context": {"targetingKey": "user-1"}}`
					if bc.vary {
						body = bodies[i%len(bodies)]
						i++
					}
					status, data, err := post(bc.target, body)
					if err != nil || status != http.StatusOK {
						b.Errorf("%s: %d %s %v", bc.target, status, data, err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
