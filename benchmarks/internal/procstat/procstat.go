// Package procstat reads what the benchmark commands report about the
// process and its files: resident memory from /proc/self/status, and the
// disk space a directory occupies.
package procstat

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// StatusMiB returns the value of a /proc/self/status field given in kB
// ("VmHWM", "RssAnon", "RssFile", ...), in MiB; 0 where unavailable.
func StatusMiB(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// DiskUsage is the disk space the files under dir occupy: allocated
// blocks, not apparent sizes, since the storage engine preallocates
// sparse files.
func DiskUsage(dir string) int64 {
	var total int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		} else {
			total += info.Size()
		}
		return nil
	})
	return total
}
