package domain

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// OnDeploymentEvent maps a deployer event to the release's events and the
// product's (which version an environment runs). Events for an unknown
// release, or that would not change anything (a redelivery), yield nothing.
// at is when the deployer recorded ev: a ReleaseDeployed carries the
// release's notes as they read once it is live there, and notes are dated
// the day the release reached production.
func OnDeploymentEvent(r *Release, ev proto.Message, at time.Time) (releaseEvents []proto.Message, productEvents []proto.Message) {
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
		return []proto.Message{&releasev1.ReleaseDeployed{
			Environment: e.GetEnvironment(), DeploymentId: e.GetDeploymentId(),
			Product: r.product, Version: r.version, Title: r.title, Notes: DeployedNotes(r, e.GetEnvironment(), at),
		}}, ProductEventsFor(r, ev)
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

// MaxDeployedNotes bounds the notes a ReleaseDeployed carries, in bytes:
// enough for any release people read to the end, and small next to the
// log's limit on an event (the notifier copies them into its own events).
const MaxDeployedNotes = 16 << 10

// DeployedNotes are the Markdown notes of r as `floe release notes` prints
// them once r is live in env (deployed there at at; production dates them),
// cut at a line to at most MaxDeployedNotes bytes, with a last line saying so.
func DeployedNotes(r *Release, env string, at time.Time) string {
	n := ReleaseNotes(r)
	if env == "production" && !at.IsZero() {
		n.Date = at.UTC().Format(notesDateLayout)
	}
	return clipNotes(n.Markdown(), MaxDeployedNotes, r.id)
}

// clipNotes cuts md to at most limit bytes: at the last line break that
// fits, or, when that would drop more than half of what fits (one long
// paragraph), after the last whole character; then a line tells where the
// whole notes are. limit is far above the tail's length.
func clipNotes(md string, limit int, id string) string {
	if len(md) <= limit {
		return md
	}
	tail := "\n_… cut at " + strconv.Itoa(limit>>10) + " KiB: `floe release notes " + id + "` prints them whole._\n"
	keep := max(limit-len(tail)-1, 0) // room for the line break ending the kept text
	for keep > 0 && !utf8.RuneStart(md[keep]) {
		keep--
	}
	cut := md[:keep]
	if i := strings.LastIndexByte(cut, '\n'); i >= keep/2 {
		cut = cut[:i]
	}
	return cut + "\n" + tail
}
