package status

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

// ViewSource returns the page as it is now. It is called once per request.
type ViewSource func(ctx context.Context) (View, error)

// NewHandler serves the public page: the HTML at "/" and the Statuspage
// compatible JSON under /api/v2/. It only reads; the HTTP layer around it
// adds TLS, caching and rate limits. The page's links are relative, so the
// handler may be mounted under a prefix (the page at "<prefix>/"). The HTML
// carries [ContentSecurityPolicy]; every response is nosniff and refuses
// framing.
func NewHandler(src ViewSource) (http.Handler, error) {
	if src == nil {
		return nil, errors.New("status handler: nil view source")
	}
	mux := http.NewServeMux()
	doc := func(render func(View) any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			v, ok := load(w, r, src)
			if !ok {
				return
			}
			body, err := json.Marshal(render(v))
			if err != nil {
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Header().Set("Access-Control-Allow-Origin", "*")
			_, _ = w.Write(body)
		}
	}
	mux.Handle("GET /api/v2/summary.json", doc(func(v View) any { return v.Summary() }))
	mux.Handle("GET /api/v2/status.json", doc(func(v View) any { return v.StatusJSON() }))
	mux.Handle("GET /api/v2/components.json", doc(func(v View) any { return v.ComponentsJSON() }))
	mux.Handle("GET /api/v2/incidents.json", doc(func(v View) any { return v.IncidentsJSON() }))
	mux.Handle("GET /api/v2/incidents/unresolved.json", doc(func(v View) any { return v.UnresolvedJSON() }))
	mux.Handle("GET /api/v2/scheduled-maintenances.json", doc(func(v View) any { return v.MaintenancesJSON() }))
	mux.Handle("GET /api/v2/scheduled-maintenances/upcoming.json", doc(func(v View) any { return v.UpcomingJSON() }))
	mux.Handle("GET /api/v2/scheduled-maintenances/active.json", doc(func(v View) any { return v.ActiveJSON() }))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		v, ok := load(w, r, src)
		if !ok {
			return
		}
		var buf bytes.Buffer
		if err := v.RenderHTML(&buf); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", ContentSecurityPolicy())
		w.Header().Set("Referrer-Policy", "no-referrer")
		_, _ = w.Write(buf.Bytes())
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Cache-Control", "public, max-age=30")
		mux.ServeHTTP(w, r)
	}), nil
}

func load(w http.ResponseWriter, r *http.Request, src ViewSource) (View, bool) {
	v, err := src(r.Context())
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "status page unavailable", http.StatusServiceUnavailable)
		return View{}, false
	}
	return v, true
}
