// Package report builds the compliance report (guide §10) from the log
// alone: every deployment to the reported environments during a period,
// with the change request that authorized it, its approvers and the proof
// that none approved their own change or release, the digests of the gate
// evidence the release collected before it, who deployed it and how it
// ended; the emergency changes and their post-implementation reviews; the
// freeze overrides. It is pure: no NATS, no I/O, no clock. The caller
// reads the log, decodes each event and hands it to [Builder.Add] in log
// order; [Builder.Report] then answers as of the period's end.
//
// # What is read
//
// The caller passes every event from the start of the log up to the end of
// the period: the events before the period are context (a release created,
// a change submitted or approved, gate evidence reported earlier), never
// reported for themselves. Events stamped at or after the period's end are
// ignored, so the report is the log as it stood at `to`.
//
// The report's first_position and last_position are the
// positions of the first and the last event stamped within the period
// [from, to) (both 0 when none is): the range the caller runs the audit
// verification over and attaches as the report's verification, so that the
// report and its proof cover exactly the same events.
//
// # Deployments
//
// A [releasev1.PromotionRequested] to a reported environment, stamped in
// the period, starts a [changev1.ReportedChange] at its position. Its
// deployment is the deployer's [deployv1.DeploymentStarted] for the same
// release, environment and attempt (until one arrives, the deployer's
// convention "<release>-<environment>-<attempt>"); the deployment's own
// events decide the outcome: succeeded, failed (with the reason),
// rolled_back (with the reason, the trigger and the version restored; a
// succeeded deployment rolled back later is rolled back) or in_progress.
// The release's mirrors of those events count where the deployer's are
// missing: ReleaseDeployed and ReleaseDeploymentFailed while the deployer
// has not decided the outcome, ReleaseRolledBack whenever the deployment
// is not rolled back already. A deployment the deployer started without a
// promotion (a retry, a configuration rollout) is reported from its
// DeploymentStarted alone: it has no release approvals and only the change
// id the deployer recorded.
//
// The release approvers are the promotion's approved_by (the approvals
// that counted); for promotions written without it, the approvals granted
// for the environment and not voided since. The release's author is the
// actor of its ReleaseCreated.
//
// The gate evidence of a deployment is every suite report
// ([gatev1.ResultsReported]) of every gate run of the same release, in any
// environment, recorded before the promotion, in log order; its sha256 is
// the evidence digest without its "sha256:" prefix.
//
// # Separation of duties
//
// A deployment's controls are separated when no approver of its change
// request is the change's submitter and no release approver is the
// release's author or the person who promoted it; each violation is
// described in separation_problems, and the summary's self_approvals
// counts the deployments with at least one.
//
// # Emergency changes
//
// An emergency change is reported when it was submitted or its
// implementation started in the period and it covers (or was implemented
// in) a reported environment. Its review status, as of min(to, now):
// "done" (reviewed by the due time), "late" (reviewed after it),
// "overdue" (not reviewed and past due) or "pending" (not due yet, or not
// implemented).
package report
