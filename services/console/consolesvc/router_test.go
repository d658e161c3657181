package consolesvc

import (
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func TestRouter(t *testing.T) {
	routes, err := parseRoutes(" floe.gate.v1=127.0.0.1:7411, floe.flag.v1=127.0.0.1:7412,floe.config.v1=127.0.0.1:7412 ")
	if err != nil || len(routes) != 3 {
		t.Fatalf("parseRoutes: %v %v", routes, err)
	}
	def, err := grpc.NewClient("passthrough:///127.0.0.1:7410", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	r, err := newRouter(def, routes)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.conn("/floe.gate.v1.GateService/GetGateStatus") == def || r.conn("/floe.release.v1.ReleaseService/GetRelease") != def {
		t.Error("calls are not routed by their package")
	}
	if r.conn("/floe.flag.v1.FlagService/GetFlag") != r.conn("/floe.config.v1.ConfigService/GetConfig") {
		t.Error("two packages on one address do not share its connection")
	}
	for in, want := range map[string]string{
		"floe.gate.v1":                      "PACKAGE=HOST:PORT",
		"floe.gate.v1=nowhere":              "missing port",
		"a=1.2.3.4:1,a=1.2.3.4:2":           "routed twice",
		"floe/gate=127.0.0.1:1":             "PACKAGE=HOST:PORT",
		"=127.0.0.1:1":                      "PACKAGE=HOST:PORT",
		"floe.gate.v1=127.0.0.1:1, ,x=y:zz": "", // blanks are skipped; x=y:zz parses
	} {
		_, err := parseRoutes(in)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("parseRoutes(%q) = %v, want %q", in, err, want)
		}
	}
}
