package domain

import (
	"google.golang.org/protobuf/proto"

	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// OnDeploymentEvent maps a deployer event to the release's events and the
// product's (which version an environment runs). Events for an unknown
// release, or that would not change anything (a redelivery), yield nothing.
func OnDeploymentEvent(r *Release, ev proto.Message) (releaseEvents []proto.Message, productEvents []proto.Message) {
	if !r.Exists() {
		return nil, nil
	}
	status := func(env string) releasev1.ReleaseStatus {
		if st, ok := r.envs[env]; ok {
			return st.Status
		}
		return releasev1.ReleaseStatus_RELEASE_STATUS_UNSPECIFIED
	}
	switch e := ev.(type) {
	case *deployv1.DeploymentStarted:
		if st, ok := r.envs[e.GetEnvironment()]; ok && st.DeploymentID == e.GetDeploymentId() && st.Status == releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYING {
			return nil, nil
		}
		return []proto.Message{&releasev1.ReleaseDeploying{Environment: e.GetEnvironment(), DeploymentId: e.GetDeploymentId()}}, nil
	case *deployv1.DeploymentSucceeded:
		if status(e.GetEnvironment()) == releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYED {
			return nil, nil
		}
		return []proto.Message{&releasev1.ReleaseDeployed{Environment: e.GetEnvironment(), DeploymentId: e.GetDeploymentId()}}, ProductEventsFor(r, ev)
	case *deployv1.DeploymentFailed:
		if status(e.GetEnvironment()) == releasev1.ReleaseStatus_RELEASE_STATUS_FAILED {
			return nil, nil
		}
		return []proto.Message{&releasev1.ReleaseDeploymentFailed{Environment: e.GetEnvironment(), DeploymentId: e.GetDeploymentId(), Reason: e.GetReason()}}, nil
	case *deployv1.RolledBack:
		if status(e.GetEnvironment()) == releasev1.ReleaseStatus_RELEASE_STATUS_ROLLED_BACK {
			return nil, nil
		}
		return []proto.Message{&releasev1.ReleaseRolledBack{
			Environment: e.GetEnvironment(), DeploymentId: e.GetDeploymentId(), RestoredVersion: e.GetRestoredVersion(), Reason: e.GetReason(),
		}}, ProductEventsFor(r, ev)
	}
	return nil, nil
}

// ProductEventsFor is what a deployer event means for the product: which
// version the environment runs now. It depends only on the event and the
// release's version, so it can be recomputed on redelivery.
func ProductEventsFor(r *Release, ev proto.Message) []proto.Message {
	switch e := ev.(type) {
	case *deployv1.DeploymentSucceeded:
		return []proto.Message{&releasev1.ProductDeployed{Environment: e.GetEnvironment(), Version: r.version, ReleaseId: r.id}}
	case *deployv1.RolledBack:
		// An empty restored version means the environment runs no release now.
		return []proto.Message{&releasev1.ProductDeployed{Environment: e.GetEnvironment(), Version: e.GetRestoredVersion()}}
	}
	return nil
}

// DeploymentReleaseID returns the release a deployer event is about, or "".
func DeploymentReleaseID(ev proto.Message) string {
	switch e := ev.(type) {
	case *deployv1.DeploymentStarted:
		return e.GetReleaseId()
	case *deployv1.DeploymentSucceeded:
		return e.GetReleaseId()
	case *deployv1.DeploymentFailed:
		return e.GetReleaseId()
	case *deployv1.RolledBack:
		return e.GetReleaseId()
	}
	return ""
}
