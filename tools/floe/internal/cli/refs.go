package cli

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// Readable references. Wherever a request names a release (its release_id
// field, or an element of releases) the CLI takes PRODUCT@VERSION for it, and PRODUCT@VERSION/ENV
// names the release in an environment: the environment fills the request's
// environment field when it is empty. A deployment (deployment_id) may be
// named PRODUCT@VERSION/ENV: the release's deployment there (its latest
// attempt). Identifiers never hold '@', so a value with one is a reference;
// it is resolved through the release service (ListReleases, GetRelease) by
// a client interceptor, for every command at once.

// ref is a parsed PRODUCT@VERSION[/ENV].
type ref struct{ product, version, env string }

func parseRef(s string) (ref, bool) {
	product, rest, ok := strings.Cut(s, "@")
	if !ok {
		return ref{}, false
	}
	version, env, _ := strings.Cut(rest, "/")
	return ref{product, version, env}, true
}

func (r ref) String() string {
	if r.env == "" {
		return r.product + "@" + r.version
	}
	return r.product + "@" + r.version + "/" + r.env
}

// refUnaryInterceptor resolves the references of a request before it is sent.
func refUnaryInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if m, ok := req.(proto.Message); ok {
		if err := resolveRefs(ctx, cc, m); err != nil {
			return err
		}
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// refStreamInterceptor does it for the messages a stream sends.
func refStreamInterceptor(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, err
	}
	return &refStream{ClientStream: s, cc: cc}, nil
}

type refStream struct {
	grpc.ClientStream
	cc *grpc.ClientConn
}

func (s *refStream) SendMsg(m any) error {
	if pm, ok := m.(proto.Message); ok {
		if err := resolveRefs(s.Context(), s.cc, pm); err != nil {
			return err
		}
	}
	return s.ClientStream.SendMsg(m)
}

// resolveRefs replaces the references in m's release_id, releases and
// deployment_id fields.
func resolveRefs(ctx context.Context, cc *grpc.ClientConn, m proto.Message) error {
	msg := m.ProtoReflect()
	fields := msg.Descriptor().Fields()
	get := func(name string) (protoreflect.FieldDescriptor, string) {
		fd := fields.ByName(protoreflect.Name(name))
		if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
			return nil, ""
		}
		return fd, msg.Get(fd).String()
	}
	setEnv := func(env string) {
		if fd, cur := get("environment"); fd != nil && cur == "" && env != "" {
			msg.Set(fd, protoreflect.ValueOfString(env))
		}
	}
	if fd, v := get("release_id"); fd != nil {
		if r, ok := parseRef(v); ok {
			rel, err := findRelease(ctx, cc, r)
			if err != nil {
				return err
			}
			msg.Set(fd, protoreflect.ValueOfString(rel.GetId()))
			setEnv(r.env)
		}
	}
	// A change request's releases: each may be a reference.
	if fd := fields.ByName("releases"); fd != nil && fd.Kind() == protoreflect.StringKind && fd.IsList() {
		list := msg.Mutable(fd).List()
		for i := range list.Len() {
			if r, ok := parseRef(list.Get(i).String()); ok {
				if r.env != "" {
					return status.Errorf(codes.InvalidArgument, "releases[%d]: %s names an environment; a change names the release, PRODUCT@VERSION", i, r)
				}
				rel, err := findRelease(ctx, cc, r)
				if err != nil {
					return err
				}
				list.Set(i, protoreflect.ValueOfString(rel.GetId()))
			}
		}
	}
	if fd, v := get("deployment_id"); fd != nil {
		if r, ok := parseRef(v); ok {
			if r.env == "" {
				return status.Errorf(codes.InvalidArgument, "%s names a release; a deployment is PRODUCT@VERSION/ENVIRONMENT", r)
			}
			rel, err := findRelease(ctx, cc, r)
			if err != nil {
				return err
			}
			id := ""
			for _, e := range rel.GetEnvironments() {
				if e.GetEnvironment() == r.env {
					id = e.GetDeploymentId()
				}
			}
			if id == "" {
				return status.Errorf(codes.NotFound, "%s: release %s has no deployment in %s (floe release get %s)", r, rel.GetId(), r.env, rel.GetId())
			}
			msg.Set(fd, protoreflect.ValueOfString(id))
		}
	}
	return nil
}

// findRelease is the release r names: its product's release with exactly
// that version.
func findRelease(ctx context.Context, cc *grpc.ClientConn, r ref) (*releasev1.Release, error) {
	if r.product == "" || r.version == "" {
		return nil, status.Errorf(codes.InvalidArgument, "%q is not a reference: write PRODUCT@VERSION (penguinmails@2.1.0) or PRODUCT@VERSION/ENVIRONMENT", r.String())
	}
	c := releasev1.NewReleaseServiceClient(cc)
	var found []*releasev1.Release
	req := &releasev1.ListReleasesRequest{Product: r.product, Text: r.version, PageSize: 500}
	for {
		resp, err := c.ListReleases(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", r, err)
		}
		for _, rel := range resp.GetReleases() {
			if rel.GetProduct() == r.product && rel.GetVersion() == r.version {
				found = append(found, rel)
			}
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	switch len(found) {
	case 0:
		return nil, status.Errorf(codes.NotFound, "no release %s@%s (floe release list --product %s)", r.product, r.version, r.product)
	case 1:
		// GetRelease: the list's rows may leave out what a command needs (the environments' deployments).
		resp, err := c.GetRelease(ctx, &releasev1.GetReleaseRequest{ReleaseId: found[0].GetId()})
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", r, err)
		}
		return resp.GetRelease(), nil
	}
	ids := make([]string, len(found))
	for i, rel := range found {
		ids[i] = rel.GetId() + " (" + enumName(rel.GetStatus()) + ")"
	}
	return nil, status.Errorf(codes.FailedPrecondition, "%s@%s names %d releases: %s; use an ID", r.product, r.version, len(found), strings.Join(ids, ", "))
}
