// Package procstat reads what the benchmark commands report about the
// process and its files: resident memory from /proc/self/status, CPU time
// from /proc/self/stat, and the disk space a directory occupies.
package procstat

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
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

// CPUTime is the CPU time (user + system) the process has used so far,
// from /proc/self/stat in clock ticks of 10 ms; 0 where unavailable.
func CPUTime() time.Duration {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	// The command name, field 2, may hold spaces: count from after it.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// Settle waits until the process has been nearly idle (under 5% of one
// core) for three seconds running, or until max: benchmarks call it after
// opening a database so that the storage engine's background compactions
// do not skew what they measure. It returns how long it waited.
func Settle(max time.Duration) time.Duration {
	start := time.Now()
	quiet := 0
	for time.Since(start) < max && quiet < 3 {
		c0 := CPUTime()
		time.Sleep(time.Second)
		if CPUTime()-c0 < 50*time.Millisecond {
			quiet++
		} else {
			quiet = 0
		}
	}
	return time.Since(start)
}

// PeakSampler samples a reading every interval from its start until
// Stop, keeping the highest value.
type PeakSampler struct {
	done chan struct{}
	peak chan float64
}

// SamplePeak starts a PeakSampler of read.
func SamplePeak(read func() float64, interval time.Duration) *PeakSampler {
	s := &PeakSampler{done: make(chan struct{}), peak: make(chan float64)}
	go func() {
		peak := read()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				peak = max(peak, read())
			case <-s.done:
				s.peak <- max(peak, read())
				return
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the peak.
func (s *PeakSampler) Stop() float64 {
	close(s.done)
	return <-s.peak
}
