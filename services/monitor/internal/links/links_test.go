package links_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/penguinmails/floe/services/monitor/internal/links"
)

func TestParseAndRender(t *testing.T) {
	tm, err := links.Parse(map[string]string{
		"deployment": "https://console.example.com/deployments/{{pathescape .DeploymentID}}",
		"runbook":    "https://wiki.example.com/runbooks/{{.Rule}}?env={{queryescape .Environment}}",
		"by_label":   "https://console.example.com/teams/{{index .Labels \"team\"}}",
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range links.Prometheus("http://prom:9090/") {
		g, err := links.Parse(map[string]string{k: v})
		if err != nil {
			t.Fatal(err)
		}
		q := `sum(rate(x{code=~"5.."}[1m])) > 0.1 & y`
		got := g.Render(links.Data{Query: q})["graph"]
		u, err := url.Parse(got)
		if err != nil || u.Host != "prom:9090" || u.Path != "/graph" || u.Query().Get("g0.expr") != q {
			t.Errorf("graph link %q (%v): the query does not survive", got, err)
		}
	}
	got := tm.Render(links.Data{Rule: "error_rate", DeploymentID: "r 1/x", Environment: "prod & co", Labels: map[string]string{"team": "mail"}})
	if got["deployment"] != "https://console.example.com/deployments/r%201%2Fx" ||
		got["runbook"] != "https://wiki.example.com/runbooks/error_rate?env=prod+%26+co" ||
		got["by_label"] != "https://console.example.com/teams/mail" {
		t.Errorf("links %v", got)
	}
	// A label the data lacks leaves that link out, not the others.
	if got := tm.Render(links.Data{Rule: "r", DeploymentID: "d"}); got["by_label"] != "" && !strings.HasSuffix(got["by_label"], "/teams/") || got["deployment"] == "" {
		t.Errorf("links without the label %v", got)
	}
	if got := (links.Templates{}).Render(links.Data{}); got != nil {
		t.Errorf("no templates rendered %v", got)
	}

	_, err = links.Parse(map[string]string{"a": "{{.Nope}}", "b": "/relative/{{.Rule}}", "c": "{{", "": "https://x"})
	for _, want := range []string{"links.a:", "links.b:", "not an absolute http(s) URL", "links.c:", `"" is not a link name`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad templates: %v; want %q", err, want)
		}
	}
}
