package texmex

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	data := []float32{1, -2.5, 3, 4, 5, 6}
	if err := WriteFvecs(filepath.Join(dir, "a.fvecs"), data, 3); err != nil {
		t.Fatal(err)
	}
	got, dim, err := ReadFvecs(filepath.Join(dir, "a.fvecs"))
	if err != nil || dim != 3 || !slices.Equal(got, data) {
		t.Fatalf("fvecs: %v dim %d, %v", got, dim, err)
	}
	rows := [][]int32{{1, 2}, {3, -4}}
	if err := WriteIvecs(filepath.Join(dir, "a.ivecs"), rows); err != nil {
		t.Fatal(err)
	}
	back, err := ReadIvecs(filepath.Join(dir, "a.ivecs"))
	if err != nil || len(back) != 2 || !slices.Equal(back[1], rows[1]) {
		t.Fatalf("ivecs: %v, %v", back, err)
	}
	// Truncated files and mixed dimensions are refused.
	raw, _ := os.ReadFile(filepath.Join(dir, "a.fvecs"))
	for _, bad := range [][]byte{raw[:len(raw)-1], raw[:2], append(raw[:16:16], 9, 0, 0, 0)} {
		p := filepath.Join(dir, "bad.fvecs")
		os.WriteFile(p, bad, 0o600)
		if _, _, err := ReadFvecs(p); err == nil {
			t.Errorf("read %d corrupt bytes without error", len(bad))
		}
	}
}
