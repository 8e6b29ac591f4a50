package vectordb_test

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vectordb-go/vectordb"
)

// Crash tests: the test binary re-executes itself as a child that writes
// through the public API and prints an acknowledgement after each call
// returns; the parent kills it with SIGKILL and checks, after reopening,
// that every acknowledged write is there and that the one in flight is
// all or nothing. (The reliability suite extends this into a long
// randomized loop.)

const (
	crashDirEnv  = "VECTORDB_CRASH_DIR"
	crashModeEnv = "VECTORDB_CRASH_MODE"
	crashBatch   = 10
)

// TestCrashChild is the child's body; it does nothing unless the parent
// set crashDirEnv.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestKillKeepsAcknowledgedWrites")
	}
	switch os.Getenv(crashModeEnv) {
	case "lock":
		_, err := vectordb.Open(dir, testOptions())
		fmt.Printf("open: %v\n", errors.Is(err, vectordb.ErrLocked))
		return
	}
	o := testOptions()
	o.Durability = vectordb.DurabilitySync
	db, err := vectordb.Open(dir, o)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	ix, err := db.Index("crash")
	if errors.Is(err, vectordb.ErrIndexNotFound) {
		ix, err = db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "crash", Dimension: 4, Metric: vectordb.Euclidean})
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	out := bufio.NewWriter(os.Stdout)
	ns := ix.Namespace("t")
	start, _ := strconv.Atoi(os.Getenv("VECTORDB_CRASH_START"))
	for b := start; ; b++ {
		recs := make([]vectordb.Record, crashBatch)
		for i := range recs {
			n := b*crashBatch + i
			recs[i] = vectordb.Record{ID: strconv.Itoa(n), Values: []float32{float32(n), 1, 2, 3}}
		}
		if _, err := ns.Upsert(ctx, recs); err != nil {
			fmt.Fprintln(out, "error", err)
			out.Flush()
			os.Exit(1)
		}
		fmt.Fprintln(out, "ack", b)
		out.Flush()
	}
}

// startChild runs the test binary's test called name in a child process
// with env added to the environment, and returns it with a scanner of its
// standard output.
func startChild(t *testing.T, name string, env ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.v=false")
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewScanner(stdout)
}

func TestKillKeepsAcknowledgedWrites(t *testing.T) {
	cycles := 4
	if testing.Short() {
		cycles = 2
	}
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	next := 0 // first batch number of the next child
	for c := range cycles {
		cmd, lines := startChild(t, "TestCrashChild", crashDirEnv+"="+dir, "VECTORDB_CRASH_START="+strconv.Itoa(next))
		deadline := time.Now().Add(time.Duration(100+r.IntN(400)) * time.Millisecond)
		last := next - 1
		// Read acks until the deadline, kill the child, then read the acks
		// it printed before dying that are still in the pipe: every one of
		// them was acknowledged (reading stops at EOF, when the child is
		// gone; Wait must come after, since it closes the pipe).
		killed := false
		for lines.Scan() {
			f := strings.Fields(lines.Text())
			if len(f) == 2 && f[0] == "ack" {
				last, _ = strconv.Atoi(f[1])
			} else if len(f) > 0 && f[0] == "error" {
				t.Fatalf("child: %s", lines.Text())
			}
			if !killed && time.Now().After(deadline) {
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		}
		if !killed {
			cmd.Process.Signal(syscall.SIGKILL)
		}
		cmd.Wait()
		if last < next {
			t.Fatalf("cycle %d: the child acknowledged nothing", c)
		}

		db := openDir(t, dir, nil)
		ix, err := db.Index("crash")
		if err != nil {
			t.Fatal(err)
		}
		ns := ix.Namespace("t")
		d, err := ix.DescribeNamespace(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		acked := (last + 1) * crashBatch
		// Every acknowledged batch is there; the batch in flight is whole
		// or absent.
		if d.RecordCount != int64(acked) && d.RecordCount != int64(acked+crashBatch) {
			t.Fatalf("cycle %d: %d records after acknowledging %d", c, d.RecordCount, acked)
		}
		for b := 0; b*crashBatch < int(d.RecordCount); b += 50 {
			ids := make([]string, 0, crashBatch)
			for i := range crashBatch {
				ids = append(ids, strconv.Itoa(b*crashBatch+i))
			}
			res, err := ns.Fetch(ctx, ids)
			if err != nil || len(res.Records) != crashBatch {
				t.Fatalf("cycle %d: batch %d has %d records (%v)", c, b, len(res.Records), err)
			}
			if v := res.Records[ids[0]].Values[0]; v != float32(b*crashBatch) {
				t.Fatalf("cycle %d: record %s holds %v", c, ids[0], v)
			}
		}
		q, err := ns.Query(ctx, vectordb.QueryRequest{Vector: []float32{0, 1, 2, 3}, TopK: 1})
		if err != nil || len(q.Matches) != 1 || q.Matches[0].ID != "0" {
			t.Fatalf("cycle %d: query after crash = %+v %v", c, q.Matches, err)
		}
		next = int(d.RecordCount) / crashBatch
		db.Close()
	}
}

// TestSecondProcessIsLocked opens a directory from a second process while
// this one holds it.
func TestSecondProcessIsLocked(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, nil)
	defer db.Close()
	cmd, lines := startChild(t, "TestCrashChild", crashDirEnv+"="+dir, crashModeEnv+"=lock")
	var got string
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "open: ") {
			got = lines.Text()
		}
	}
	cmd.Wait()
	if got != "open: true" {
		t.Fatalf("second process: %q, want ErrLocked", got)
	}
}
