// Package slack is the notifier's Slack channel, in two modes that share
// one payload builder: a Bot posting with the Web API's chat.postMessage
// and a bot token, and a Webhook posting to an incoming webhook URL. It
// speaks HTTP and JSON with the standard library; no Slack SDK.
//
// # What it implements
//
//   - Block Kit messages with a plain-text fallback. When a message brings no
//     blocks of its own (channel.Message.Blocks), Blocks builds them: a
//     header with the subject, sections with the text as mrkdwn (split to
//     stay under Slack's 3,000-character section limit), and a context line
//     with the severity and the time (a <!date> token, shown in each
//     reader's time zone). The top-level text, what notifications and
//     screen readers show, is always set (FallbackText). Text is escaped the
//     way Slack asks (&, <, > as entities) so that a message cannot ping
//     @channel or forge a link, and every mrkdwn object built is verbatim,
//     so that Slack does not turn a bare @here, #channel or URL in a value
//     into a mention or a link either.
//   - Bot mode (NewBot): POST {BaseURL}/chat.postMessage with
//     "Authorization: Bearer xoxb-…" and a JSON body {channel, text, blocks,
//     thread_ts, metadata}. thread_ts is set when the message belongs to an
//     episode whose first message was already sent (channel.Thread.Ref):
//     updates go into the first message's thread. The receipt's Ref is the
//     ts Slack returns. Slack's API has no idempotency key, so the message's
//     ID travels as message metadata (event_type "floe_notification",
//     event_payload {id, episode}), where a reader of the channel's history
//     (conversations.history with include_all_metadata) can find it.
//   - Webhook mode (NewWebhook): POST {text, blocks} to the incoming webhook
//     URL. Incoming webhooks cannot thread: Slack answers "ok" and no ts, so
//     there is nothing to thread on; the receipt's Ref is empty and every
//     message of an episode is posted at the top level. The webhook URL is a
//     credential (whoever has it can post) and is held as a secrets.Value.
//   - Outcomes. Bot mode: HTTP 429 and {"ok":false,"error":"ratelimited"}
//     are transient, with the wait Slack names in Retry-After; 408, 5xx and
//     Slack's internal_error, fatal_error, service_unavailable and
//     request_timeout are transient; every other ok:false error
//     (invalid_auth, not_authed, token_revoked, channel_not_found,
//     not_in_channel, is_archived, invalid_blocks, msg_too_long, …) and every
//     other status is permanent, since retrying a caller's mistake cannot
//     succeed. Webhook mode: 429 (with Retry-After), 408 and 5xx are
//     transient; 410 (channel_is_archived) is permanent and asks for the
//     receiver to be disabled; other statuses (400 invalid_payload, 403
//     action_prohibited, 404 channel_not_found or no_service) are permanent.
//     Redirects are not followed. Transport failures are transient.
//   - Errors carry Slack's error code (reduced to [a-z0-9_]) and the status,
//     never the token, the webhook URL or a response body.
//
// # What it does not do
//
//   - Exactly-once at the wire: when Slack posts a message but the answer is
//     lost (a timeout, a reset connection), the retry posts it again. The
//     notifier's delivery log makes the decision to send once per episode
//     and receiver; the wire can still duplicate, and the metadata id lets
//     a reader tell the copies apart.
//   - Updating a message in place (chat.update), reactions, files,
//     ephemeral messages, or reading the interactive payloads that buttons
//     send back (the slackverify package verifies those requests; the
//     approvals endpoint parses them).
//   - Rate limiting ahead of Slack: Slack allows about one message per
//     second per channel; the notifier's delivery loop spaces sends and
//     honours RetryAfter, this package only reports it.
//   - Socket Mode, OAuth installation and token rotation (refreshing an
//     expiring xoxe token).
package slack
