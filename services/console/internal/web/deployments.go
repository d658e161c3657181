package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
)

func (h *Handler) deployClient() deployv1.DeployServiceClient {
	return deployv1.NewDeployServiceClient(h.opts.Conn)
}

// stepRow is a plan step as the deployment page shows it.
type stepRow struct {
	Index                      uint32
	What, Result, State        string
	Started, Completed, Resume string
}

// deployment shows a deployment: its status, the traffic split its
// completed steps made, and each step of its plan.
func (h *Handler) deployment(w http.ResponseWriter, r *http.Request, s *session) {
	at, ok := h.atParam(w, r, s) // time travel: the deployment as of this log position
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	resp, err := h.deployClient().GetDeployment(ctx, &deployv1.GetDeploymentRequest{DeploymentId: r.PathValue("id"), AsOfPosition: at.Position, AsOfTime: at.Time})
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	d := resp.GetDeployment()
	weight := uint32(0) // the new version's share of the traffic, from the steps done
	rows := make([]stepRow, 0, len(d.GetSteps()))
	for i, st := range d.GetSteps() {
		row := stepRow{Index: st.GetIndex(), What: describeStep(st.GetStep()), Result: st.GetResult(),
			Started: stamp(st.GetStartedAt()), Completed: stamp(st.GetCompletedAt()), Resume: stamp(st.GetResumeAt())}
		switch {
		case st.GetCompletedAt() != nil:
			row.State = "done"
			if st.GetStep().GetKind() == deployv1.StepKind_STEP_KIND_SET_WEIGHT {
				weight = st.GetStep().GetWeight()
			}
		case uint32(i) == d.GetCurrentStep() && active(d.GetStatus()):
			row.State = "current"
		case uint32(i) == d.GetCurrentStep() && st.GetStartedAt() != nil:
			row.State = "interrupted"
		default:
			row.State = "to do"
		}
		rows = append(rows, row)
	}
	if d.GetStatus() == deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ROLLED_BACK {
		weight = 0 // the rollback sent all the traffic back to the previous version
	}
	// The monitor's view of it: a chart per trigger (none when the monitor
	// has not seen it, or the principal may not read the monitor).
	// As of a past position, the monitoring as it was then (the samples taken by then).
	var drawn []chart
	var samples uint64
	bake := "" // the bake after success: until when the monitor watches on
	if m, err := h.monitorClient().GetMonitoring(ctx, &monitorv1.GetMonitoringRequest{DeploymentId: d.GetId(), AsOfPosition: at.Position, AsOfTime: at.Time}); err == nil {
		drawn, samples = charts(m.GetMonitoring()), sampleCount(m.GetMonitoring())
		if b := m.GetMonitoring().GetBakeUntil(); b != nil {
			bake = "until " + stamp(b)
			if m.GetMonitoring().GetEndedAt() != nil {
				bake += " (over: " + wordOf(m.GetMonitoring().GetOutcomeType()) + ")"
			}
		}
	}
	h.render(w, r, s, http.StatusOK, "deployment", map[string]any{"D": d, "Steps": rows, "Weight": weight, "Old": 100 - weight,
		"Active": !at.set() && active(d.GetStatus()), "Notice": r.URL.Query().Get("done"), "Charts": drawn, "Samples": samples, "Bake": bake, "At": at})
}

func (h *Handler) monitorClient() monitorv1.MonitorServiceClient {
	return monitorv1.NewMonitorServiceClient(h.opts.Conn)
}

func active(st deployv1.DeploymentStatus) bool {
	switch st {
	case deployv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, deployv1.DeploymentStatus_DEPLOYMENT_STATUS_PAUSED, deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ROLLING_BACK:
		return true
	}
	return false
}

// describeStep is a plan step in words ("set weight 25 %", "pause 8s").
func describeStep(s *deployv1.Step) string {
	kind := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(s.GetKind().String(), "STEP_KIND_"), "_", " "))
	switch s.GetKind() {
	case deployv1.StepKind_STEP_KIND_SET_WEIGHT:
		return fmt.Sprintf("set weight %d %%", s.GetWeight())
	case deployv1.StepKind_STEP_KIND_PAUSE:
		if s.GetDuration().AsDuration() == 0 {
			return "pause until resumed"
		}
		return "pause " + s.GetDuration().AsDuration().String()
	case deployv1.StepKind_STEP_KIND_ANALYSIS:
		return "analysis " + s.GetDuration().AsDuration().String()
	case deployv1.StepKind_STEP_KIND_FLAG_ROLLOUT:
		return fmt.Sprintf("flag %s to %d %%", s.GetFlag(), s.GetWeight())
	}
	return kind
}

// deploymentLive streams `changed` each time the deployment changes
// (WatchDeployment) and, for a page showing the monitor's samples (?m=, how
// many), each time the monitor has taken more.
func (h *Handler) deploymentLive(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	var poll func(ctx context.Context) bool
	if shown, err := strconv.ParseUint(r.URL.Query().Get("m"), 10, 64); err == nil {
		poll = func(ctx context.Context) bool {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			m, err := h.monitorClient().GetMonitoring(ctx, &monitorv1.GetMonitoringRequest{DeploymentId: id})
			if n := sampleCount(m.GetMonitoring()); err == nil && n > shown {
				shown = n
				return true
			}
			return false
		}
	}
	live(h, w, r, s, func(ctx context.Context) (interface {
		Recv() (*deployv1.WatchDeploymentResponse, error)
	}, error) {
		return h.deployClient().WatchDeployment(ctx, &deployv1.WatchDeploymentRequest{DeploymentId: id})
	}, func(m *deployv1.WatchDeploymentResponse) uint64 { return m.GetDeployment().GetAggregateVersion() }, poll)
}

// deploymentAction pauses, resumes, aborts or rolls back a deployment.
func (h *Handler) deploymentAction(w http.ResponseWriter, r *http.Request, s *session) {
	id, action, reason := r.PathValue("id"), r.PathValue("action"), r.PostForm.Get("reason")
	ctx, cancel := s.ctx(r)
	defer cancel()
	c := h.deployClient()
	var err error
	switch action {
	case "pause":
		_, err = c.Pause(ctx, &deployv1.PauseRequest{DeploymentId: id, Reason: reason})
	case "resume":
		_, err = c.Resume(ctx, &deployv1.ResumeRequest{DeploymentId: id})
	case "abort":
		_, err = c.Abort(ctx, &deployv1.AbortRequest{DeploymentId: id, Reason: reason})
	case "rollback":
		_, err = c.Rollback(ctx, &deployv1.RollbackRequest{DeploymentId: id, Reason: reason})
	default:
		h.fail(w, r, s, http.StatusNotFound, fmt.Sprintf("%q is not an action on a deployment (pause, resume, abort, rollback)", action))
		return
	}
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/deployments/"+id+"?done="+urlQuery(action+" requested"), http.StatusSeeOther)
}
