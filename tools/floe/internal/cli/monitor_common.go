// Helpers shared by the monitor's command trees: rules.go, alerts.go and
// monitor.go.

package cli

import (
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
)

// monitorClient is the monitor service's client on conn.
func monitorClient(conn *grpc.ClientConn) monitorv1.MonitorServiceClient {
	return monitorv1.NewMonitorServiceClient(conn)
}

// num formats a value for tables.
func num(v float64) string { return fmt.Sprintf("%.4g", v) }

// dur formats a duration for tables, to the millisecond, or "-".
func dur(d *durationpb.Duration) string {
	if d == nil {
		return "-"
	}
	return d.AsDuration().Round(time.Millisecond).String()
}
