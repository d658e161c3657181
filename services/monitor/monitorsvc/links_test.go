package monitorsvc_test

import (
	"strings"
	"testing"

	"github.com/penguinmails/floe/services/monitor/monitorsvc"
)

// A monitor config with a link template that does not render an absolute
// URL is refused, naming the link; a Prometheus source's graph link may be
// replaced.
func TestConfigLinks(t *testing.T) {
	f := monitorsvc.File{Links: map[string]string{"console": "/deployments/{{.DeploymentID}}"}}
	if err := f.Validate(); err == nil || !strings.Contains(err.Error(), "links.console") {
		t.Errorf("a relative link: %v", err)
	}
	f = monitorsvc.File{Source: "prometheus", Links: map[string]string{"graph": "https://grafana.example.com/explore?q={{queryescape .Query}}"}}
	f.Prometheus.URL = "http://prometheus:9090"
	if err := f.Validate(); err != nil {
		t.Errorf("a replaced graph link: %v", err)
	}
}
