package app

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
)

// deliveryVars flattens a document and names the variable of each secret
// reference; a reference inside an array cannot be delivered.
func TestDeliveryVars(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		doc      string
		wantVars map[string]string
		wantRefs []*deployv1.DeliveredSecret
		wantErr  string
	}{
		{
			name:     "no references",
			doc:      `{"database": {"connectionPool": {"max": 20}}, "app": {"mode": "x"}}`,
			wantVars: map[string]string{"DATABASE_CONNECTION_POOL_MAX": "20", "APP_MODE": "x"},
		},
		{
			name:     "references stay references, each with its variable",
			doc:      `{"database": {"password": "secret://db/password@2"}, "email": {"apiKey": "vault://mail/api#key"}, "x": {"plain": "secret-ish"}}`,
			wantVars: map[string]string{"DATABASE_PASSWORD": "secret://db/password@2", "EMAIL_API_KEY": "vault://mail/api#key", "X_PLAIN": "secret-ish"},
			wantRefs: []*deployv1.DeliveredSecret{
				{Path: "database.password", Variable: "DATABASE_PASSWORD", Reference: "secret://db/password@2"},
				{Path: "email.apiKey", Variable: "EMAIL_API_KEY", Reference: "vault://mail/api#key"},
			},
		},
		{
			name:    "a reference inside an array",
			doc:     `{"hosts": ["a", "secret://db/password"]}`,
			wantErr: "hosts[1] (secret://db/password) is inside an array, whose variable HOSTS holds JSON",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vars, refs, err := deliveryVars(tc.doc)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantVars, vars); diff != "" {
				t.Errorf("vars (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRefs, refs, protocmp.Transform()); diff != "" {
				t.Errorf("refs (-want +got):\n%s", diff)
			}
		})
	}
}
