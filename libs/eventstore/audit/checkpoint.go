// Package audit makes Floe's event log verifiable by an auditor who trusts
// nothing but a public key.
//
// Every event's floe-hash chains it to the previous event of its aggregate.
// On top of that, the log as a whole is an RFC 6962 Merkle tree whose leaves
// are (position, floe-hash) in global order. A Checkpointer periodically (and
// on demand) signs the tree's size and root with ed25519 and stores the
// checkpoint — together with the leaf hashes it newly covers — in an
// append-only audit stream. Verify re-reads the log and checks every hash
// link, every checkpoint signature, that each checkpoint extends the one
// before it, and every event against the leaf a signature covers, and names
// the first bad event: edits, deletions, reorderings and truncations are all
// caught, even by an attacker who recomputes the per-aggregate hash chains.
package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/penguinmails/floe/libs/eventstore"
)

// MaxLeavesPerCheckpoint bounds one checkpoint message (32 bytes a leaf);
// a checkpointer that is further behind writes several checkpoints in a row.
const MaxLeavesPerCheckpoint = 8192

// Checkpoint is a signed statement "the log's first Size events have Merkle
// root Root", carrying the leaf hashes of events From..Size-1 (0-based).
type Checkpoint struct {
	Origin    string    `json:"origin"`
	Size      uint64    `json:"size"`
	Root      []byte    `json:"root"`
	Time      time.Time `json:"time"`
	KeyID     string    `json:"key_id"`
	Signature []byte    `json:"signature"`
	From      uint64    `json:"from"`
	Leaves    []byte    `json:"leaves"` // concatenated 32-byte leaf hashes, From..Size-1
	// Seq is the checkpoint's position in the audit stream (not signed, not serialised).
	Seq uint64 `json:"-"`
}

// Body is the signed text, in the style of a C2SP checkpoint note:
// origin, size, base64 root and time, one per line.
func (c *Checkpoint) Body() []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root), c.Time.UTC().Format(time.RFC3339Nano))
}

// LeafCount is the number of leaf hashes the checkpoint carries.
func (c *Checkpoint) LeafCount() int { return len(c.Leaves) / sha256.Size }

// Leaf returns the i-th carried leaf hash (leaf index From+i).
func (c *Checkpoint) Leaf(i int) []byte { return c.Leaves[i*sha256.Size : (i+1)*sha256.Size] }

// Sign fills KeyID and Signature.
func (c *Checkpoint) Sign(key ed25519.PrivateKey) {
	c.KeyID = KeyID(key.Public().(ed25519.PublicKey))
	c.Signature = ed25519.Sign(key, c.Body())
}

// VerifySignature checks the signature and key id against pub.
func (c *Checkpoint) VerifySignature(pub ed25519.PublicKey) error {
	if c.KeyID != KeyID(pub) {
		return fmt.Errorf("signed by key %s, not the trusted key %s", c.KeyID, KeyID(pub))
	}
	if !ed25519.Verify(pub, c.Body(), c.Signature) {
		return errors.New("signature does not verify")
	}
	return nil
}

// Marshal encodes the checkpoint as JSON.
func (c *Checkpoint) Marshal() ([]byte, error) { return json.Marshal(c) }

// ParseCheckpoint decodes a checkpoint and checks its shape.
func ParseCheckpoint(data []byte) (*Checkpoint, error) {
	var c Checkpoint
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if err := c.checkShape(); err != nil {
		return nil, err
	}
	return &c, nil
}

// checkShape checks that the root is a hash and that the carried leaves are
// exactly those of positions From..Size-1.
func (c *Checkpoint) checkShape() error {
	if len(c.Root) != sha256.Size || len(c.Leaves)%sha256.Size != 0 || c.From > c.Size || c.Size-c.From != uint64(c.LeafCount()) {
		return fmt.Errorf("checkpoint of size %d is malformed (root %d bytes, %d leaf bytes from %d)", c.Size, len(c.Root), len(c.Leaves), c.From)
	}
	return nil
}

// LeafHash is the RFC 6962 leaf hash of the event at 1-based position seq
// with floe-hash hash (hex): H(0x00 ‖ seq as 8 bytes big-endian ‖ hash bytes).
// Binding the position makes a reordering change the tree.
func LeafHash(seq uint64, hash string) []byte {
	var data [8 + sha256.Size]byte
	binary.BigEndian.PutUint64(data[:8], seq)
	ok := len(hash) == 2*sha256.Size // checked first: hex.Decode panics when hash is longer than the space for it
	if ok {
		_, err := hex.Decode(data[8:], []byte(hash))
		ok = err == nil
	}
	if !ok {
		// A malformed hash still gets a leaf, one that matches nothing signed.
		sum := sha256.Sum256([]byte(hash))
		copy(data[8:], sum[:])
	}
	return rfc6962.DefaultHasher.HashLeaf(data[:])
}

// tree is a compact Merkle range from leaf 0.
type tree struct{ r *compact.Range }

var rangeFactory = compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

func newTree() *tree { return &tree{r: rangeFactory.NewEmptyRange(0)} }

func (t *tree) clone() *tree {
	r, err := rangeFactory.NewRange(0, t.r.End(), append([][]byte(nil), t.r.Hashes()...))
	if err != nil {
		panic(err) // a range's own hashes always form a valid range
	}
	return &tree{r: r}
}

func (t *tree) append(leaf []byte) { _ = t.r.Append(leaf, nil) } // Append only fails for a range not at its end; ours always is
func (t *tree) size() uint64       { return t.r.End() }

func (t *tree) root() []byte {
	if t.r.End() == 0 {
		return rfc6962.DefaultHasher.EmptyRoot()
	}
	root, err := t.r.GetRootHash(nil)
	if err != nil {
		return nil
	}
	return root
}

// KeyID is the first 8 bytes of SHA-256 of the public key, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// LoadKey reads an ed25519 private key (PKCS#8 PEM).
func LoadKey(path string) (ed25519.PrivateKey, error) { return eventstore.LoadKey(path) }

// LoadOrCreateKey reads an ed25519 private key (PKCS#8 PEM) from path, or
// creates one (mode 0600) with its public key beside it at path+".pub".
func LoadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		_, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, err
		}
		if err := WritePublicKey(path+".pub", priv.Public().(ed25519.PublicKey)); err != nil {
			return nil, err
		}
		return priv, nil
	}
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: not a PEM file", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an ed25519 key", path)
	}
	return priv, nil
}

// WritePublicKey writes pub as a PKIX PEM file.
func WritePublicKey(path string, pub ed25519.PublicKey) error {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
}

// ParsePublicKey reads a PKIX PEM public key, or a bare base64 key.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	if block, _ := pem.Decode(data); block != nil {
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, errors.New("not an ed25519 public key")
		}
		return pub, nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("not a PEM or base64 ed25519 public key")
	}
	return ed25519.PublicKey(raw), nil
}

// Origin names the log a checkpoint is about.
func Origin(stream string) string { return "floe/" + stream }

func equalHash(a, b []byte) bool { return bytes.Equal(a, b) }

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
