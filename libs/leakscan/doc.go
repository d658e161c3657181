// Package leakscan finds secret-looking values in text and in decoded JSON
// documents, so that Floe can refuse configuration values, release changes
// and notes that would otherwise store a credential in the event log, where it
// can never be erased. A finding carries a hint to store the value as a secret
// and refer to it as secret://<name> instead.
//
// [Scan] reads free text (release notes, change summaries); [ScanJSON] walks a
// document decoded by encoding/json and reports findings with the dotted JSON
// path of the value (`database.password`, `hosts[2]`).
//
// # Rules
//
// The rules are modelled on gitleaks' well-known ones. Each has keywords that
// must occur in the lower-cased text before its regular expression runs (the
// gitleaks prefilter), so a clean 10 KB note costs a handful of substring
// searches and one pass of the entropy scanner (about 0.1 ms). All
// expressions are RE2, so matching is linear in the input, and each starts
// with a literal so that Go's matcher skips ahead with a substring search;
// url-credentials and generic-assignment, which have no literal start, are
// hand-written scanners driven by substring searches for "://" and the key
// words.
//
//   - aws-access-key-id: AKIA/ASIA/ABIA/ACCA/A3T… followed by 16 base32 characters.
//   - github-token: ghp_, gho_, ghu_, ghs_, ghr_ and 36 alphanumerics; github_pat_ and 82 word characters.
//   - slack-token: xoxb-, xoxa-, xoxp-, xoxr-, xoxs- (and xapp-) tokens.
//   - slack-webhook: hooks.slack.com/services|workflows|triggers/… URLs (the
//     finding starts at the host).
//   - stripe-key: sk_live_, rk_live_, sk_test_, rk_test_, sk_prod_, rk_prod_ keys.
//   - gcp-api-key: AIza and 35 URL-safe characters.
//   - private-key: a PEM "-----BEGIN … PRIVATE KEY-----" header.
//   - jwt: three base64url segments, the first two starting with "ey".
//   - twilio-api-key: SK and 32 hex digits.
//   - sendgrid-api-key: SG.<22>.<43>.
//   - npm-token: npm_ and 36 alphanumerics.
//   - floe-token: floe_ and 43 URL-safe characters (Floe's own API tokens).
//   - url-credentials: a URL with a password in its user information
//     (scheme://user:password@host); the password is the finding.
//   - generic-assignment: password=, passwd:, pwd=, secret:, token=, api_key=,
//     client_secret:, access_key= … followed by a value that looks like a
//     credential (at least 6 characters and a digit or symbol, or mixed case).
//     Placeholders (<…>, ${…}, {{…}}, $VAR, ***, xxx, "changeme") are not.
//   - high-entropy: a run of at least 20 base64 or base64url characters whose
//     Shannon entropy is at least min(4.0, 0.85·log2(length)) bits per
//     character and that mixes upper case, lower case and digits and does not
//     read as an identifier (see below). It finds about 87% of random 20-character
//     tokens, 95% at 24 characters and over 99% from 32 characters on.
//
// [ScanJSON] adds one rule: secret-field, a non-empty string under a key that
// names a credential (password, secret, token, apiKey, privateKey, secretKey,
// accessKey, credentials and their snake/kebab forms, matched on the end of the
// key) is a finding whatever it looks like, unless it is a secret reference or
// a placeholder: configuration has no reason to hold such a value literally.
//
// # What is not a finding
//
// Release notes are full of identifiers, and a scanner that refuses them is
// soon switched off, so the entropy rule ignores:
//
//   - runs made only of hexadecimal digits, dashes and underscores: git commit
//     SHAs (short and full), SHA-256 digests, UUIDs;
//   - runs without all three of upper case, lower case and digits: ULIDs,
//     paths, snake_case and kebab-case words, base32;
//   - identifiers: runs whose characters change class (upper, lower, digit,
//     symbol) between fewer than 35% of neighbouring pairs, or of which at
//     least 75% are words (three or more letters: "get", "HTTP", "Release").
//     TestReleaseNotesV2Handler and getUserByEmailAndPassword2FA are
//     identifiers; random base64 changes class about two times in three and
//     is about one-third words.
//   - anything that is not a run: version strings (1.2.3-rc.1+build.5 breaks
//     at the dots), URLs without credentials, prose.
//
// Hex-only secrets (some vendors' 32- or 40-hex keys) are therefore found only
// by a specific rule, by generic-assignment, or by secret-field in JSON.
//
// Secret references are never findings: secret://<name> and
// vault://<path>#<key>, and any finding overlapping one, are dropped. A
// password made only of lower-case words ("correcthorsebatterystaple") after
// password= is missed in text; in JSON the secret-field rule catches it.
//
// # Redaction
//
// A finding never carries the matched value: its Description names the rule
// and shows at most the first four characters followed by "…". Start and End
// are byte offsets into the scanned string so a caller can point at the spot.
package leakscan
