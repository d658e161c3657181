// Package sms is the notifier's SMS channel: it sends a channel.Message
// through a Twilio-compatible REST API, and passes channeltest.Run
// (threads=false: SMS has no threads) against a loopback server that
// implements the endpoint.
//
// # Request
//
// One message is one request per recipient:
//
//	POST {BaseURL}/2010-04-01/Accounts/{AccountSID}/Messages.json
//	Authorization: Basic base64(AccountSID:AuthToken)
//	Content-Type: application/x-www-form-urlencoded
//
//	To=+15551234567&From=+15557654321&Body=…
//
// with MessagingServiceSid instead of (or besides) From when configured. The
// base URL must be https, or http to a loopback host (a test or a local
// mock), so the token never crosses a network in the clear. The body is the
// subject, a line break and the text, cut to Config.MaxChars characters
// (default 1600, Twilio's limit): runes are counted and the cut falls
// between two, the last character an ellipsis "…" (see Body). Characters are
// runes, not the UCS-2 units an SMS segment is billed in, nor graphemes: a
// cut may separate a combining accent or an emoji's modifier from its base.
//
// A 2xx answer carries JSON {"sid": "SM…", "status": "queued"}; the sid is
// the message's reference, and the Receipt's Ref lists the sids of the
// recipients in order, comma-separated.
//
// # Errors
//
// Every error is a *channel.Error. A 429 is transient with RetryAfter from
// its Retry-After header (seconds or an HTTP date); a 408 or a 5xx is
// transient; any other 4xx is permanent, its text taken from the JSON error
// body ({code, message, more_info, status}, an *APIError) and never showing
// the token; a failed connection or an ended context is transient. A 2xx
// without a sid is permanent: the message may have been taken, and a retry
// could send it twice.
//
// With several recipients a failure does not stop the others, and the
// error's Err is a *DeliveryError that lists who got the message (with its
// sid) and who did not (with the error). The error is permanent only when
// every failure was, and transient otherwise, so the notifier retries it.
// The API has no idempotency key, so the Channel remembers which recipients
// got each of the last 1024 message ids: a retry of the same Message.ID
// goes only to the recipients still missing it. That memory lives in the
// process; a retry after a restart sends to every recipient again.
package sms
