package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// live relays a watch RPC's stream to the browser as server-sent events: a
// `changed` event for each message that shows the thing at an aggregate
// version past the one the page shows (?v=, so a change made between the
// page and its stream is told at once), a `failed` event when the stream
// ends on an error. open starts the watch as the session's principal;
// version reads a message's aggregate version. poll, when set, is also
// asked every pollEvery whether something else the page shows changed
// (the monitor's samples on a deployment's page).
func live[M any](h *Handler, w http.ResponseWriter, r *http.Request, s *session, open func(ctx context.Context) (interface{ Recv() (M, error) }, error), version func(M) uint64, poll func(ctx context.Context) bool) {
	fl, ok := w.(http.Flusher)
	if !ok {
		h.fail(w, r, s, http.StatusInternalServerError, "streaming is not supported here")
		return
	}
	ctx := r.Context()
	shown, _ := strconv.ParseUint(r.URL.Query().Get("v"), 10, 64) // the version the page shows
	stream, err := open(withToken(ctx, s))
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	type recv struct {
		m   M
		err error
	}
	msgs := make(chan recv)
	go func() {
		for {
			m, err := stream.Recv()
			select {
			case msgs <- recv{m, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var tick <-chan time.Time
	if poll != nil {
		t := time.NewTicker(pollEvery)
		defer t.Stop()
		tick = t.C
	}
	changed := func(v uint64) {
		fmt.Fprintf(w, "event: changed\ndata: %d\n\n", v)
		fl.Flush()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			if poll(withToken(ctx, s)) {
				changed(shown)
			}
		case in := <-msgs:
			if in.err != nil {
				if status.Code(in.err) != codes.Canceled && ctx.Err() == nil {
					fmt.Fprintf(w, "event: failed\ndata: %s\n\n", oneLine(status.Convert(in.err).Message()))
					fl.Flush()
				}
				return
			}
			if v := version(in.m); v > shown {
				shown = v
				changed(v)
			}
		}
	}
}

// pollEvery is how often live asks its poll function (floe dev's monitor evaluates every 5 s).
var pollEvery = 5 * time.Second

func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

// nextPage is the link to the page after this one ("" on the last).
func nextPage(r *http.Request, path, token string) string {
	if token == "" {
		return ""
	}
	q := r.URL.Query()
	q.Set("page", token)
	return path + "?" + q.Encode()
}
