// Package change is the change request aggregate of change management
// (guide §8, with the change records §10's compliance reporting reads), as
// pure Go: no NATS, no I/O, no clock. Decisions are functions of (state,
// command[, now]) that return the events to append or a typed error from
// libs/errs; state is rebuilt only through [ChangeRequest.Apply]. Events
// are plain structs, one per event type, implementing [Event]; the service
// maps them to protobuf once floe.change.v1 exists.
//
// # The change request
//
// A change request carries the guide's fields: title, description, type
// (enhancement, bug_fix, security, infrastructure), priority (low …
// critical), impact (none … system_wide), risk (low … critical, the guide's
// levels), environments, a requested schedule (planned start, duration in
// minutes, maintenance flag), requested approvers, and implementation,
// rollback and testing plans as ordered steps (description, owner,
// expected minutes, verification). It is linked to one or more releases by
// id, and may say what it means for regulation (§10's impact assessment).
// Every free text is scanned by libs/leakscan: a credential is refused at
// its field's path, never written to the log.
//
// # Classes
//
//   - standard: made from a pre-approved template; approved on submission.
//   - normal: the guide's seven steps — submission, technical review,
//     approval (by default one product and one operations approval, from
//     distinct people), scheduling, implementation, validation, closure.
//   - emergency: the fast track. By default no technical review and one
//     approval from operations or security; logged as an emergency (with
//     its justification); a post-implementation review (root cause and
//     prevention actions) is due 48 hours after implementation starts,
//     is visible as overdue after that ([ChangeRequest.Overdue]) and is
//     required for closure.
//
// The [Policy] sets the approvals per class, the emergency approvers, the
// review deadline and the validation checks; [Submit] copies what applies
// into the Submitted event, so a policy change never alters a change in
// flight.
//
// # Separation of duties
//
// The submitter never reviews, approves or rejects their own change (nor
// names themselves as an approver). Each person approves once, as one role
// they hold (principals come with their roles as plain strings); an
// approval counts toward one requirement, so N requirements need N
// people. An approval as a role whose requirements are met already is
// recorded but does not count.
//
// # State machine
//
// Rows are states, columns commands; a cell is the state after the command
// ("·" refused: the refusal says the state, what it waits for and which
// states allow the command). Rejected, cancelled and closed are final.
//
//	state \ command   Submit  StartReview  CompleteReview  Approve     Reject    Schedule   Cancel     StartImpl.    RecordValidation        Fail    PIR   Close
//	(none)            S|P|A   ·            ·               ·           ·         ·          ·          ·             ·                       ·       ·     ·
//	submitted    S    ·       R            ·               ·           ·         ·          cancelled  ·             ·                       ·       ·     ·
//	in_review    R    ·       ·            P | rejected    ·           ·         ·          cancelled  ·             ·                       ·       ·     ·
//	pending_appr. P   ·       ·            ·               P | A       rejected  ·          cancelled  ·             ·                       ·       ·     ·
//	approved     A    ·       ·            ·               ·           ·         Sch        cancelled  · (no window) ·                       ·       ·     ·
//	scheduled    Sch  ·       ·            ·               ·           ·         Sch        cancelled  I             ·                       ·       ·     ·
//	implementing I    ·       ·            ·               ·           ·         ·          ·          I (next env)  I | V | failed          failed  I     ·
//	validated    V    ·       ·            ·               ·           ·         ·          ·          ·             V | failed              failed  V     closed (successful)
//	failed            ·       ·            ·               ·           ·         ·          ·          ·             ·                       ·       F     closed (failed)
//	rejected, cancelled, closed: every command refused.
//
// Submit leads to submitted (S) for a normal change, pending_approval (P)
// for an emergency (submitted when the policy asks for its review) and
// approved (A) for a standard one. CompleteReview passes to P or rejects;
// Approve stays in P until the approvals meet every requirement, then A.
// Schedule assigns a window: its id and range [start, end), the change's
// slot within it (the change's duration must fit), a maintenance window
// when the change asks for one, covering every environment of the change;
// a scheduled change may be rescheduled. StartImplementation records a
// deployment of a linked release to a covered environment: the first one
// moves Sch to implementing (I) and starts an emergency's review clock; a
// deployment outside the window is recorded as such, not refused. A change
// is validated (V) once every environment has a deployment whose every
// required check (deployment, gates, bake) succeeded; any failed check
// fails it. Close needs V or failed and, for an emergency, the
// post-implementation review (PIR).
//
// # Queries
//
// [ChangeRequest.Overdue] (a review past due), [Authorizes] (whether a
// change lets a release deploy to an environment now: scheduled or
// implementing, linked, covering the environment, inside its window, start
// inclusive and end exclusive), [ChangeRequest.Summary] for listings and
// [Describe] for a change's history.
package change
