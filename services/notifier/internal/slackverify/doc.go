// Package slackverify checks that an HTTP request really comes from Slack,
// the way Slack's "Verifying requests from Slack" describes it, before the
// notifier acts on an interactive payload (an Approve or Reject button).
//
// # What it implements
//
// Slack signs every request with the app's signing secret: the header
// X-Slack-Signature is "v0=" and the hex HMAC-SHA256, keyed with the signing
// secret as it is shown (not decoded), of the base string
// "v0:" + X-Slack-Request-Timestamp + ":" + the raw body. A [Verifier]
//
//   - rejects a request whose headers are missing or malformed ([ErrMalformed]);
//   - rejects a timestamp more than the tolerance (5 minutes, Slack's
//     recommendation) away from its clock, in the past or in the future
//     ([ErrStale]), before computing anything;
//   - recomputes the signature over the raw bytes and compares it in
//     constant time with hmac.Equal ([ErrBadSignature]);
//   - rejects a second request carrying a signature it has already accepted
//     ([ErrReplay]): a captured request re-sent within the tolerance window
//     would pass the three checks above. Accepted signatures are remembered
//     until their timestamp leaves the window, after which the timestamp
//     check rejects them anyway, so the cache never needs to hold more than
//     one window of traffic. Signatures are remembered in their decoded form,
//     so "V0=ABC…" does not slip past a cached "v0=abc…".
//
// The cache is bounded ([Config.MaxSeen]). When it is full of signatures
// that are all still inside the window the verifier fails closed
// ([ErrBusy]) rather than forget one, because forgetting reopens the replay
// it exists to stop; filling it takes MaxSeen genuine Slack requests in five
// minutes.
//
// [Verifier.Middleware] wraps an http.Handler: it reads the body (up to
// [Config.MaxBody]), verifies it, answers 401 to anything that fails (after
// telling an optional callback, which is where the notifier records the
// rejection as an event) and hands the verified body on.
//
// # What it does not do
//
//   - Replays across replicas. The cache is in the memory of one process:
//     with several notifier replicas behind a load balancer, a request
//     replayed within the 5-minute window can reach a replica that has not
//     seen it and be accepted there. Running one replica of the interactive
//     endpoint, pinning Slack's requests to one replica, or making the action
//     itself idempotent downstream (one decision per approval request and
//     principal) closes that gap; a shared cache (a NATS KV bucket with a TTL of the window,
//     created with "create only if absent") is the way to make this check
//     itself cluster-wide, and is not built here.
//   - Mutual TLS, Slack's other verification option, and the deprecated
//     verification token carried in payloads.
//   - Rotation: Slack has one signing secret per app at a time, so a Verifier
//     takes exactly one.
//   - Anything about the payload itself (parsing, mapping a Slack user to a
//     Floe principal): that is the caller's job, after Verify succeeds.
package slackverify
