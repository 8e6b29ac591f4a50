package transfer

import (
	"encoding/json"
	"io"
	"runtime/debug"
	"time"

	"github.com/vectordb-go/vectordb/internal/stream"
)

// Header is the header of a namespace export.
type Header struct {
	Format    int       `json:"format"`   // stream.Version
	Vectordb  string    `json:"vectordb"` // the module version that wrote it
	CreatedAt time.Time `json:"createdAt"`
	Index     string    `json:"index"`
	Dimension int       `json:"dimension"`
	Metric    string    `json:"metric"`
	Namespace string    `json:"namespace"`
	Records   int64     `json:"records"`
}

// TxnShare is the share of the storage engine's transaction limit that
// one import or restore transaction fills: big enough that a sync per
// transaction costs little, small enough to commit quickly.
const TxnShare = 4

// checkEvery is how many keys an export or a restore handles between
// context checks.
const checkEvery = 4096

// openStream reads the preamble of a stream of the given kind and decodes
// its JSON header into hdr.
func openStream(r io.Reader, kind byte, hdr any) (*stream.Reader, error) {
	sr, raw, err := stream.NewReader(r, kind)
	if err != nil {
		return nil, fromStream(err, -1)
	}
	if err := json.Unmarshal(raw, hdr); err != nil {
		sr.Close()
		return nil, &StreamError{Reason: "header: " + err.Error(), Block: 0, Item: -1}
	}
	return sr, nil
}

// moduleVersion is the version of the vectordb module in this binary, as
// the Go toolchain recorded it ("(devel)" in a checkout of its own).
func moduleVersion() string {
	const path = "github.com/vectordb-go/vectordb"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path == path {
			return bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == path {
				if d.Replace != nil {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "unknown"
}
