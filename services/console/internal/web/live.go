package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// live relays a watch RPC's stream to the browser as server-sent events: a
// `changed` event for each message that shows the thing at an aggregate
// version past the one the page shows (?v=, so a change made between the
// page and its stream is told at once), a `failed` event when the stream
// ends on an error. open starts the watch as the session's principal;
// version reads a message's aggregate version.
func live[M any](h *Handler, w http.ResponseWriter, r *http.Request, s *session, open func(ctx context.Context) (interface{ Recv() (M, error) }, error), version func(M) uint64) {
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
	for {
		m, err := stream.Recv()
		if err != nil {
			if status.Code(err) != codes.Canceled && ctx.Err() == nil {
				fmt.Fprintf(w, "event: failed\ndata: %s\n\n", oneLine(status.Convert(err).Message()))
				fl.Flush()
			}
			return
		}
		if v := version(m); v > shown {
			shown = v
			fmt.Fprintf(w, "event: changed\ndata: %d\n\n", v)
			fl.Flush()
		}
	}
}

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
