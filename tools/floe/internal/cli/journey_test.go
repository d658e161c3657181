package cli

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The Standard Webhooks specification's reference example
// (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md).
func TestVerifyStandardWebhookReferenceExample(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"test": 2432232314}`)
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	at := time.Unix(1614265330, 0).Add(time.Minute)
	if err := verifyStandardWebhook(secret, h, body, at); err != nil {
		t.Fatalf("the reference example: %v", err)
	}
	// One of several signatures (a secret rotation) is enough.
	h.Set("webhook-signature", "v1,bm9wZQ== v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	if err := verifyStandardWebhook(secret, h, body, at); err != nil {
		t.Errorf("with a second signature: %v", err)
	}
	for name, c := range map[string]struct {
		body []byte
		at   time.Time
		want string
	}{
		"tampered body": {[]byte(`{"test": 2432232315}`), at, "no webhook-signature matches"},
		"stale":         {body, at.Add(10 * time.Minute), "away"},
	} {
		if err := verifyStandardWebhook(secret, h, c.body, c.at); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	h.Del("webhook-id")
	if err := verifyStandardWebhook(secret, h, body, at); err == nil {
		t.Error("accepted without webhook-id")
	}
}

func TestShellWords(t *testing.T) {
	got := shellWords([]string{"release", "create", "--title", "PenguinMails 2.1", "--reason", "it's", ""})
	want := `release create --title 'PenguinMails 2.1' --reason 'it'\''s' ''`
	if got != want {
		t.Errorf("shellWords = %s, want %s", got, want)
	}
}
