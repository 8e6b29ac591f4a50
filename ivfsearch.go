package vectordb

import (
	"time"

	"github.com/vectordb-go/vectordb/internal/ivf"
	"github.com/vectordb-go/vectordb/internal/segment"
)

// describeIVF describes st.
func describeIVF(st *segment.IVF) *IVFDescription {
	return &IVFDescription{
		Lists:           st.NList,
		NProbe:          st.NProbe,
		EstimatedRecall: st.Recall,
		TrainedRecords:  int64(st.Trained),
		BuiltAt:         st.BuiltAt,
		BuildTime:       st.BuildTime,
	}
}

// IVFDescription describes a namespace's IVF (inverted file) index, which
// queries use instead of the exact scan once the namespace has
// Options.IVFMinRecords records.
type IVFDescription struct {
	// Lists is the number of lists (k-means centroids).
	Lists int
	// NProbe is the calibrated number of lists a query scans by default:
	// the smallest that reached Options.IVFTargetRecall.
	NProbe int
	// EstimatedRecall is the recall@10 measured at NProbe when the index
	// was built, with a sample of the namespace's own records as queries.
	EstimatedRecall float64
	// TrainedRecords is how many records the namespace held when the index
	// was built. It is rebuilt when the namespace has doubled or halved
	// since, or its lists have become unbalanced.
	TrainedRecords int64
	// BuiltAt is when the build finished, and BuildTime how long it took
	// (training, assignment and calibration).
	BuiltAt   time.Time
	BuildTime time.Duration
}

// ivfMetric is the IVF metric that serves m.
func ivfMetric(m Metric) ivf.Metric {
	switch m {
	case Cosine:
		return ivf.Cosine
	case DotProduct:
		return ivf.Dot
	}
	return ivf.L2
}
