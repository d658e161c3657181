// Package webhook is the notifier's generic webhook channel: it POSTs a
// CloudEvents JSON document to a receiver's URL, signed per the Standard
// Webhooks specification (https://www.standardwebhooks.com/, version 1.0.0)
// so that any of that specification's verifier libraries accepts it.
//
// # What it implements
//
//   - Headers: webhook-id is the message's ID, the same on every retry of a
//     delivery so the receiver can use it as an idempotency key;
//     webhook-timestamp is the unix time of this attempt (a new one each
//     retry, as the specification says, since it is what stops replays);
//     webhook-signature is "v1," and the base64 HMAC-SHA256 of
//     "{webhook-id}.{webhook-timestamp}.{body}" for each configured secret,
//     separated by spaces, so that a secret can be rotated without downtime
//     (configure the new and the old one; the receiver accepts either).
//   - Secrets are given as the specification serialises them, "whsec_" and
//     the base64 of the key (the prefix may be left out); the key is the
//     decoded bytes and must be 24 to 64 bytes long.
//   - The body is Message.Event when the message carries the CloudEvents JSON
//     of its event, sent byte for byte as given (it is signed as sent);
//     otherwise a CloudEvents 1.0 structured-mode envelope built from the
//     message (see Envelope). Content-Type is application/cloudevents+json.
//   - Outcomes, following the specification's status code handling: 2xx is
//     success; 410 Gone is permanent and asks for the endpoint to be
//     disabled (channel.Error.Disable); 408, 429 and 5xx are transient, with
//     Retry-After honoured in both its forms (seconds, HTTP date); redirects
//     are not followed and, like every other status, are permanent (the URL
//     should be corrected rather than the request retried); a transport
//     failure (refused connection, timeout) is transient.
//   - Errors name the endpoint by scheme and host only (a URL's path or
//     query often carries a token) and never hold a secret.
//
// # What it does not do
//
//   - Asymmetric (v1a, ed25519) signatures.
//   - Retrying: Send makes one attempt and says whether another may follow;
//     the notifier's delivery loop owns backoff, jitter and dead-lettering.
//   - SSRF protection: the URL is the operator's configuration, and requests
//     go wherever it points. Deployments that let untrusted users add
//     endpoints must route webhooks through a filtering egress proxy (the
//     specification recommends one), e.g. with HTTPClient's Transport.
//   - Verifying webhooks: this package only sends. The test holds an
//     independent verifier written from the specification.
package webhook
