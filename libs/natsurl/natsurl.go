// Package natsurl handles NATS server URLs, which may carry a user's
// password (nats://user:password@host:4222): Redact makes them fit to print.
package natsurl

import (
	"net/url"
	"strings"
)

// Redact returns urls (comma-separated) with every password — and a token
// given alone as the user — replaced by "****"; a part that does not parse as a URL is replaced whole when it
// holds an '@' (it might hide a password), else kept.
func Redact(urls string) string {
	if urls == "" {
		return ""
	}
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		u, err := url.Parse(p)
		switch {
		case err != nil || u.Host == "":
			if strings.Contains(p, "@") {
				parts[i] = "****"
			}
		case u.User != nil:
			if _, ok := u.User.Password(); ok {
				u.User = url.UserPassword(u.User.Username(), "****")
			} else {
				u.User = url.User("****") // a token alone
			}
			parts[i] = strings.ReplaceAll(u.String(), "%2A%2A%2A%2A", "****")
		}
	}
	return strings.Join(parts, ",")
}
