package auditsvc_test

import (
	"bytes"
	"crypto/ed25519"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/eventstore/audit"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	auditv1 "github.com/penguinmails/floe/proto/gen/floe/audit/v1"
	integrityv1 "github.com/penguinmails/floe/proto/gen/floe/integrity/v1"
	"github.com/penguinmails/floe/services/audit/auditsvc"
)

// TestCheckpointerRefusesTamperedRange: the audit service signs what it
// verified; an event that fails verification stops the signing at it
// (FailedPrecondition naming the position), is recorded as TamperDetected,
// and once acknowledged the range is signed and audit verify passes,
// listing it.
func TestCheckpointerRefusesTamperedRange(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "audit.key")
	if _, err := audit.LoadOrCreateKey(keyPath); err != nil {
		t.Fatal(err)
	}
	p := testkit.Start(t, testkit.Options{
		Users: map[string][]auth.RoleBinding{"erin": testkit.Roles(auth.RoleSecurity), "grace": testkit.Roles(auth.RoleSupport)},
		Entries: func() []service.Entry {
			return []service.Entry{service.Of(auditsvc.Service, auditsvc.Config{Key: keyPath})}
		},
		Writers: map[string][]string{"release": {"release"}},
	})
	ctx := causal.With(t.Context(), causal.Origin{Actor: "alice"})
	store := p.Store("release")
	for i := range 3 {
		if _, err := store.Append(ctx, "release", "r1", eventstore.Version(i), eventstore.Meta{Actor: "alice"}, eventstore.Event{Message: wrapperspb.String(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	client := auditv1.NewAuditServiceClient(p.Conn("erin"))
	resp, err := client.CreateCheckpoint(t.Context(), &auditv1.CreateCheckpointRequest{})
	if err != nil {
		t.Fatalf("checkpoint of genuine events: %v", err)
	}
	signed := resp.GetSignedSize()

	// A forged event, straight onto the stream, unsigned.
	_, js := natstest.Connect(t, p.NATS)
	ack, err := js.PublishMsg(t.Context(), &nats.Msg{Subject: "floe.evt.release.r1.StringValue", Data: []byte(`"forged"`), Header: nats.Header{}})
	if err != nil {
		t.Fatal(err)
	}
	bad := ack.Sequence
	if _, err := store.Append(ctx, "release", "r2", 0, eventstore.Meta{Actor: "alice"}, eventstore.Event{Message: wrapperspb.String("after")}); err != nil {
		t.Fatal(err)
	}
	_, err = client.CreateCheckpoint(t.Context(), &auditv1.CreateCheckpointRequest{})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "position "+strconv.FormatUint(bad, 10)) {
		t.Fatalf("checkpoint over the forged event: %v; want FailedPrecondition naming position %d", err, bad)
	}
	info, err := client.GetAuditInfo(t.Context(), &auditv1.GetAuditInfoRequest{})
	if err != nil || info.GetSignedSize() != signed {
		t.Fatalf("signed size after the refusal: %v, %v; want still %d", info, err, signed)
	}
	// The service verifies a range for clients that do not read NATS: the signed
	// prefix is OK, the whole log names the forged event; support may not ask.
	v, err := client.VerifyLog(t.Context(), &auditv1.VerifyLogRequest{FromPosition: 1, ToPosition: signed})
	if err != nil || !v.GetOk() || v.GetEvents() != signed || v.GetCheckpoints() == 0 || v.GetWriterKeys() == 0 {
		t.Fatalf("VerifyLog 1..%d: %v %v", signed, err, v)
	}
	v, err = client.VerifyLog(t.Context(), &auditv1.VerifyLogRequest{})
	if err != nil || v.GetOk() || len(v.GetProblems()) == 0 || !strings.Contains(v.GetProblems()[0], strconv.FormatUint(bad, 10)) {
		t.Fatalf("VerifyLog of the whole log with a forged event at %d: %v %v", bad, err, v)
	}
	if _, err := client.VerifyLog(t.Context(), &auditv1.VerifyLogRequest{FromPosition: 5, ToPosition: 2}); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "to_position") {
		t.Fatalf("VerifyLog 5..2: %v", err)
	}
	if _, err := auditv1.NewAuditServiceClient(p.Conn("grace")).VerifyLog(t.Context(), &auditv1.VerifyLogRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("VerifyLog by support: %v", err)
	}
	// A bundle of the signed prefix, streamed in chunks, verifies offline on its own.
	exp, err := client.ExportBundle(t.Context(), &auditv1.ExportBundleRequest{FromPosition: 1, ToPosition: signed})
	if err != nil {
		t.Fatal(err)
	}
	var bundle []byte
	var final *auditv1.ExportBundleResponse
	for {
		m, err := exp.Recv()
		if err != nil {
			if err != io.EOF {
				t.Fatalf("ExportBundle: %v", err)
			}
			break
		}
		bundle, final = append(bundle, m.GetData()...), m
	}
	if !final.GetDone() || final.GetEvents() != signed || final.GetLastPosition() != signed {
		t.Fatalf("the export's last message: %v", final)
	}
	b, err := audit.ReadBundle(bytes.NewReader(bundle))
	if err != nil {
		t.Fatalf("read the exported bundle: %v", err)
	}
	if rep, err := audit.VerifyWith(t.Context(), b, audit.Options{Key: b.PublicKey, Trust: p.Keys.Trust}); err != nil || !rep.OK() || rep.Events != signed {
		t.Fatalf("the exported bundle verifies: %v %+v", err, rep)
	}

	integrity := integrityv1.NewIntegrityServiceClient(p.Conn("erin"))
	testkit.Eventually(t, func() error {
		l, err := integrity.ListTamperings(t.Context(), &integrityv1.ListTamperingsRequest{})
		if err != nil {
			return err
		}
		if len(l.GetTamperings()) != 1 || l.GetTamperings()[0].GetPosition() != bad || l.GetTamperings()[0].GetAcknowledged() {
			return status.Errorf(codes.NotFound, "tamperings %v; want one open at %d", l.GetTamperings(), bad)
		}
		return nil
	})

	// Support may not acknowledge; security may, with a reason.
	if _, err := integrityv1.NewIntegrityServiceClient(p.Conn("grace")).AcknowledgeTampering(t.Context(), &integrityv1.AcknowledgeTamperingRequest{Position: bad, Reason: "x"}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("ack by support: %v", err)
	}
	if _, err := integrity.AcknowledgeTampering(t.Context(), &integrityv1.AcknowledgeTamperingRequest{Position: bad}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("ack without a reason: %v", err)
	}
	if _, err := integrity.AcknowledgeTampering(t.Context(), &integrityv1.AcknowledgeTamperingRequest{Position: 1, Reason: "x"}); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "NOT_TAMPERED") && !strings.Contains(err.Error(), "verifies") {
		t.Fatalf("ack of a genuine event: %v; want NOT_TAMPERED", err)
	}
	if _, err := integrity.AcknowledgeTampering(t.Context(), &integrityv1.AcknowledgeTamperingRequest{Position: bad, Reason: "test forgery"}); err != nil {
		t.Fatalf("ack: %v", err)
	}
	resp, err = client.CreateCheckpoint(t.Context(), &auditv1.CreateCheckpointRequest{})
	if err != nil {
		t.Fatalf("checkpoint after the acknowledgement: %v", err)
	}
	last, err := p.Store("release").LastSeq(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetSignedSize() != last {
		t.Fatalf("signed %d of %d events", resp.GetSignedSize(), last)
	}
	key, err := audit.LoadKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.VerifyWith(t.Context(), &audit.JetStreamSource{JS: js}, audit.Options{Key: key.Public().(ed25519.PublicKey), Trust: p.Keys.Trust})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.Acknowledged) != 1 || rep.Acknowledged[0].Seq != bad || rep.SignedSize != last {
		t.Fatalf("audit verify: problems %v, acknowledged %v, signed %d of %d", rep.Problems, rep.Acknowledged, rep.SignedSize, last)
	}
}
