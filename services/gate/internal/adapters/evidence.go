package adapters

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/errs"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
	"github.com/penguinmails/floe/services/gate/internal/junit"
	"github.com/penguinmails/floe/services/gate/internal/sarif"
)

// EvidenceBucket is the NATS object store that keeps reports by digest.
const EvidenceBucket = "gate_evidence"

// DefaultMaxReport is the largest report accepted unless configured.
const DefaultMaxReport = 128 << 20

// Evidence keeps reports in the object store, named by their SHA-256
// digest, and reads what they say.
type Evidence struct {
	obj      jetstream.ObjectStore
	maxBytes int64
	tmpDir   string
}

// NewEvidence opens (creating it if needed) the evidence bucket.
func NewEvidence(ctx context.Context, js jetstream.JetStream, replicas int, maxBytes int64, tmpDir string) (*Evidence, error) {
	if replicas <= 0 {
		replicas = 1
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxReport
	}
	obj, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: EvidenceBucket, Description: "Floe gate evidence: test reports by SHA-256 digest",
		Storage: jetstream.FileStorage, Replicas: replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("evidence bucket: %w", err)
	}
	return &Evidence{obj: obj, maxBytes: maxBytes, tmpDir: tmpDir}, nil
}

// MaxBytes is the largest report accepted.
func (s *Evidence) MaxBytes() int64 { return s.maxBytes }

// Staged is a report received in full, kept in a temporary file until it is
// stored (Close removes the file).
type Staged struct {
	Digest string // "sha256:<hex>"
	Size   int64
	file   *os.File
}

// Close removes the temporary file.
func (st *Staged) Close() error {
	if st == nil || st.file == nil {
		return nil
	}
	name := st.file.Name()
	err := st.file.Close()
	_ = os.Remove(name)
	return err
}

func (st *Staged) reader() (io.Reader, error) {
	if _, err := st.file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return st.file, nil
}

// Stage receives a report chunk by chunk (next returns io.EOF at its end),
// hashing it as it goes, into a temporary file: memory stays bounded by a
// chunk whatever the report's size. Over the limit: a *errs.TooLargeError.
func (s *Evidence) Stage(next func() ([]byte, error)) (*Staged, error) {
	f, err := os.CreateTemp(s.tmpDir, "floe-gate-report-*")
	if err != nil {
		return nil, fmt.Errorf("stage report: %w", err)
	}
	st := &Staged{file: f}
	h := sha256.New()
	w := io.MultiWriter(f, h)
	for {
		chunk, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			st.Close()
			return nil, err
		}
		st.Size += int64(len(chunk))
		if st.Size > s.maxBytes {
			st.Close()
			return nil, &errs.TooLargeError{Field: "report", Size: int(st.Size), Limit: int(s.maxBytes)}
		}
		if _, err := w.Write(chunk); err != nil {
			st.Close()
			return nil, fmt.Errorf("stage report: %w", err)
		}
	}
	if st.Size == 0 {
		st.Close()
		return nil, errs.Invalid("chunk", "the report is empty: send its bytes after the header")
	}
	st.Digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return st, nil
}

// Keep stores a staged report under its digest (once: the same bytes are
// the same object).
func (s *Evidence) Keep(ctx context.Context, st *Staged, filename string) error {
	if _, err := s.obj.GetInfo(ctx, st.Digest); err == nil {
		return nil
	} else if !errors.Is(err, jetstream.ErrObjectNotFound) {
		return &errs.UnavailableError{What: "evidence store", Err: err}
	}
	r, err := st.reader()
	if err != nil {
		return err
	}
	meta := jetstream.ObjectMeta{Name: st.Digest, Description: filename}
	if _, err := s.obj.Put(ctx, meta, r); err != nil {
		return &errs.UnavailableError{What: "evidence store", Err: err}
	}
	return nil
}

// PutBlob stores small data (a SARIF report's error keys) by digest.
func (s *Evidence) PutBlob(ctx context.Context, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if _, err := s.obj.GetInfo(ctx, digest); err == nil {
		return digest, nil
	}
	if _, err := s.obj.Put(ctx, jetstream.ObjectMeta{Name: digest, Description: "error keys"}, bytes.NewReader(data)); err != nil {
		return "", &errs.UnavailableError{What: "evidence store", Err: err}
	}
	return digest, nil
}

// Open reads a stored object (a report or a blob) by digest.
func (s *Evidence) Open(ctx context.Context, digest string) (io.ReadCloser, error) {
	r, err := s.obj.Get(ctx, digest)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, &errs.NotFoundError{Kind: "evidence", ID: digest}
	}
	if err != nil {
		return nil, &errs.UnavailableError{What: "evidence store", Err: err}
	}
	return r, nil
}

// ErrorKeys reads the error keys stored under digest.
func (s *Evidence) ErrorKeys(ctx context.Context, digest string) ([]string, error) {
	r, err := s.Open(ctx, digest)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, &errs.UnavailableError{What: "evidence store", Err: err}
	}
	if len(data) == 0 {
		return nil, nil
	}
	return strings.Split(string(data), "\n"), nil
}

// maxFindings is how many failing cases or new findings an event carries.
const maxFindings = 20

// Read parses a staged report in its format. For SARIF, baseline are the
// error keys of the gate's last passing report of the suite (nil: none);
// the report's own error keys are stored (the next run's baseline).
func (s *Evidence) Read(ctx context.Context, st *Staged, format gatev1.EvidenceFormat, filename string, baseline []string, baselineDigest string) (*gatev1.Evidence, error) {
	r, err := st.reader()
	if err != nil {
		return nil, err
	}
	ev := &gatev1.Evidence{Digest: st.Digest, Size: uint64(st.Size), Format: format, Filename: filename}
	switch format {
	case gatev1.EvidenceFormat_EVIDENCE_FORMAT_JUNIT:
		sum, err := junit.Parse(r, junit.Limits{MaxBytes: s.maxBytes, MaxFailures: maxFindings})
		if err != nil {
			return nil, reportError(err)
		}
		ev.Tool = sum.Format
		ev.Tests, ev.Passed, ev.Failed, ev.Errored, ev.Skipped = u32(sum.Tests), u32(sum.Passed), u32(sum.Failed), u32(sum.Errored), u32(sum.Skipped)
		ev.DurationSeconds = sum.Duration
		for _, c := range sum.Failures {
			ev.Failures = append(ev.Failures, &gatev1.TestFailure{Suite: c.Suite, ClassName: c.Class, Name: c.Name, Kind: c.Kind, Type: c.Type, Message: c.Message, File: c.File, Line: u32(c.Line)})
		}
	case gatev1.EvidenceFormat_EVIDENCE_FORMAT_SARIF:
		sum, err := sarif.Parse(r, sarif.Limits{MaxBytes: s.maxBytes, MaxFindings: 1 << 20})
		if err != nil {
			return nil, reportError(err)
		}
		ev.Tool = sum.Tool
		ev.SarifErrors, ev.SarifWarnings, ev.SarifNotes, ev.SarifSuppressed = u32(sum.Errors), u32(sum.Warnings), u32(sum.Notes), u32(sum.Suppressed)
		newKeys := sarif.NewErrors(sum, baseline)
		ev.NewErrors = u32(len(newKeys))
		ev.BaselineDigest = baselineDigest
		isNew := make(map[string]bool, len(newKeys))
		for _, k := range newKeys {
			isNew[k] = true
		}
		for _, f := range sum.Findings {
			if isNew[f.Key] && len(ev.NewFindings) < maxFindings {
				ev.NewFindings = append(ev.NewFindings, &gatev1.Finding{Key: f.Key, RuleId: f.RuleID, Level: f.Level, Message: f.Message, Location: f.Location})
			}
		}
		if ev.ErrorKeysDigest, err = s.PutBlob(ctx, []byte(strings.Join(sum.ErrorKeys, "\n"))); err != nil {
			return nil, err
		}
	case gatev1.EvidenceFormat_EVIDENCE_FORMAT_SUMMARY:
		if err := readSummary(r, ev); err != nil {
			return nil, err
		}
	default:
		return nil, errs.Invalid("header.format", "must be junit, sarif or summary")
	}
	return ev, nil
}

func u32(n int) uint32 {
	if n < 0 {
		return 0
	}
	return uint32(min(n, 1<<32-1))
}

// reportError is a parser's refusal as the client sees it.
func reportError(err error) error {
	var je *junit.Error
	var se *sarif.Error
	switch {
	case errors.As(err, &je) && je.Kind == junit.KindIO, errors.As(err, &se) && se.Kind == "io":
		return fmt.Errorf("read the staged report: %w", err)
	case errors.As(err, &je), errors.As(err, &se):
		return errs.Invalid("report", "%s", err.Error())
	}
	return errs.Invalid("report", "%s", err.Error())
}

// Summary is the plain JSON summary format, for tools that write neither
// JUnit nor SARIF.
type Summary struct {
	Tool    string  `json:"tool"`
	Tests   *int    `json:"tests,omitempty"`
	Passed  int     `json:"passed"`
	Failed  int     `json:"failed"`
	Errors  int     `json:"errors"`
	Skipped int     `json:"skipped"`
	Seconds float64 `json:"duration_seconds"`
}

const maxSummary = 1 << 20

func readSummary(r io.Reader, ev *gatev1.Evidence) error {
	if ev.GetSize() > maxSummary {
		return &errs.TooLargeError{Field: "report", Size: int(ev.GetSize()), Limit: maxSummary}
	}
	dec := json.NewDecoder(io.LimitReader(r, maxSummary))
	dec.DisallowUnknownFields()
	var s Summary
	if err := dec.Decode(&s); err != nil {
		return errs.Invalid("report", "not a JSON summary ({\"tool\": ..., \"passed\": n, \"failed\": n, \"errors\": n, \"skipped\": n}): %v", err)
	}
	if dec.More() {
		return errs.Invalid("report", "a JSON summary is one object; more follows it")
	}
	var v errs.Violations
	for name, n := range map[string]int{"passed": s.Passed, "failed": s.Failed, "errors": s.Errors, "skipped": s.Skipped} {
		if n < 0 {
			v.Add("report."+name, "is %d; counts cannot be negative", n)
		}
	}
	total := s.Passed + s.Failed + s.Errors + s.Skipped
	if s.Tests != nil && *s.Tests != total {
		v.Add("report.tests", "is %d but passed+failed+errors+skipped is %d", *s.Tests, total)
	}
	if len(s.Tool) > 200 {
		v.Add("report.tool", "at most 200 bytes")
	}
	if err := v.Err(); err != nil {
		return err
	}
	ev.Tool = s.Tool
	ev.Tests, ev.Passed, ev.Failed, ev.Errored, ev.Skipped = u32(total), u32(s.Passed), u32(s.Failed), u32(s.Errors), u32(s.Skipped)
	ev.DurationSeconds = s.Seconds
	return nil
}
