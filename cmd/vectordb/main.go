// Command vectordb serves a database over HTTP in Pinecone's protocol and
// runs operator tasks on a database directory.
//
//	vectordb serve [-dir DIR] [-listen ADDR] [-base-url URL] [-key SECRET[:INDEX[:NS,NS...]]]... [-key-file FILE]
//	vectordb indexes [-dir DIR]
//	vectordb namespaces [-dir DIR] INDEX
//	vectordb stats [-dir DIR]
//	vectordb export [-dir DIR] INDEX NAMESPACE FILE
//	vectordb import [-dir DIR] [-replace] INDEX NAMESPACE FILE
//
// export and import choose the format by FILE's name: JSON Lines for
// .jsonl (or .ndjson), compressed with gzip for .jsonl.gz and with zstd
// for .jsonl.zst; vectordb's own export format (compressed, checksummed)
// for any other. An export is written beside FILE and renamed into place
// once complete; SIGINT or SIGTERM cancel an export or import cleanly.
//
// serve listens on 127.0.0.1:5080 by default. Without -key every request
// is accepted, and it says so loudly; a key may be scoped to an index and
// to namespaces of it. SIGINT or SIGTERM stop it gracefully: requests in
// flight finish, then the database is closed. The operator commands open
// the directory themselves, so they cannot run while serve holds it;
// serve offers a namespace's export and import over HTTP instead (see
// package server).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/server"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "serve":
		err = serve(args)
	case "indexes", "namespaces", "stats", "export", "import":
		err = operate(cmd, args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vectordb:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  vectordb serve [-dir DIR] [-listen ADDR] [-base-url URL] [-key SECRET[:INDEX[:NS,NS...]]]... [-key-file FILE]
  vectordb indexes [-dir DIR]
  vectordb namespaces [-dir DIR] INDEX
  vectordb stats [-dir DIR]
  vectordb export [-dir DIR] INDEX NAMESPACE FILE
  vectordb import [-dir DIR] [-replace] INDEX NAMESPACE FILE

FILE ending in .jsonl or .ndjson, optionally followed by .gz or .zst: JSON Lines
(plain, gzip, zstd); any other name: vectordb's export format.`)
	os.Exit(2)
}

// keyFlags collects -key values.
type keyFlags []server.Key

func (k *keyFlags) String() string { return fmt.Sprint(len(*k), " keys") }

// Set parses SECRET[:INDEX[:NS,NS...]]. A ':' must be followed by a
// name: an empty one (an unset shell variable, say) would widen the key.
func (k *keyFlags) Set(s string) error {
	parts := strings.SplitN(strings.TrimSpace(s), ":", 3)
	key := server.Key{Secret: parts[0]}
	if key.Secret == "" {
		return errors.New("empty secret")
	}
	if len(parts) > 1 {
		if key.Index = parts[1]; key.Index == "" {
			return errors.New("empty index after ':'")
		}
	}
	if len(parts) > 2 {
		for _, ns := range strings.Split(parts[2], ",") {
			if ns = strings.TrimSpace(ns); ns == "" {
				return errors.New("empty namespace in the list")
			}
			key.Namespaces = append(key.Namespaces, ns)
		}
	}
	*k = append(*k, key)
	return nil
}

// readKeyFile adds the keys of a file, one SECRET[:INDEX[:NS,...]] per
// line (blank lines and lines starting with # skipped): secrets given as
// flags show in the process list.
func (k *keyFlags) readKeyFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for i, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := k.Set(line); err != nil {
			return fmt.Errorf("%s:%d: %v", path, i+1, err)
		}
	}
	return nil
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dir := fs.String("dir", "vectordb-data", "database directory")
	listen := fs.String("listen", "127.0.0.1:5080", "address to listen on")
	keyFile := fs.String("key-file", "", "file of API keys, one per line, in -key's form")
	baseURL := fs.String("base-url", "", "URL clients reach the server at, for index hosts (default: http:// and the request's Host)")
	var keys keyFlags
	fs.Var(&keys, "key", "API key, SECRET or SECRET:INDEX or SECRET:INDEX:NS1,NS2 (repeatable)")
	fs.Parse(args)
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if *keyFile != "" {
		if err := keys.readKeyFile(*keyFile); err != nil {
			return err
		}
	}

	// The storage engine's warnings and errors go to the server's log.
	db, err := vectordb.Open(*dir, &vectordb.Options{Logger: vectordb.SlogLogger(log)})
	if err != nil {
		return err
	}
	h, err := server.New(db, server.Config{Keys: keys, Logger: log, BaseURL: *baseURL})
	if err != nil {
		db.Close()
		return err
	}
	if len(keys) == 0 {
		log.Warn("NO API KEY CONFIGURED: every request is accepted; pass -key to require one")
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		db.Close()
		return err
	}
	// Bounded reads and idle connections: a client that stalls mid-body
	// cannot hold a connection, or a shutdown, for long. (Namespace
	// exports and imports roll their own deadlines forward as they
	// progress: see package server.)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("serving", "dir", *dir, "listen", ln.Addr().String(), "controllerHostUrl", "http://"+ln.Addr().String())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	select {
	case sig := <-stop:
		log.Info("shutting down", "signal", sig.String())
		signal.Stop(stop) // a second signal kills at once
	case err := <-done:
		db.Close()
		return err
	}
	// Requests in flight get 20 s (under the usual 30 s grace period of
	// process managers); then the rest are cut. Close waits for database
	// calls in flight either way.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("requests still running after 20 s; closing their connections", "err", err)
		srv.Close()
	}
	return db.Close()
}

// operate runs an operator command on a database directory.
func operate(cmd string, args []string) error {
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	dir := fs.String("dir", "vectordb-data", "database directory")
	replace := fs.Bool("replace", false, "import: replace an existing namespace")
	fs.Parse(args)
	rest := fs.Args()
	need := map[string]int{"indexes": 0, "stats": 0, "namespaces": 1, "export": 3, "import": 3}[cmd]
	if len(rest) != need {
		usage()
	}
	db, err := vectordb.Open(*dir, &vectordb.Options{IVFMinRecords: -1})
	if err != nil {
		return err
	}
	defer db.Close()
	// SIGINT or SIGTERM cancel an export or import cleanly: no partial
	// file, no namespace.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "indexes":
		ds, err := db.ListIndexes(ctx)
		if err != nil {
			return err
		}
		for _, d := range ds {
			fmt.Printf("%s\tdimension %d\t%s\t%d namespaces\t%d records\n", d.Name, d.Dimension, d.Metric, d.NamespaceCount, d.RecordCount)
		}
	case "namespaces":
		ix, err := db.Index(rest[0])
		if err != nil {
			return err
		}
		for d, err := range ix.Namespaces(ctx, "") {
			if err != nil {
				return err
			}
			fmt.Printf("%q\t%d records\t%d bytes\t%d RU\t%d WU\n", d.Name, d.RecordCount, d.Bytes, d.ReadUnits, d.WriteUnits)
		}
	case "stats":
		st, err := db.Stats(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("memory budget %d MiB (storage reserve %d MiB, hot share %d MiB); %d hot namespaces, %d MiB; %d evictions\n",
			st.MemoryBudget>>20, st.StorageReserve>>20, st.HotBudget>>20, st.HotNamespaces, st.HotBytes>>20, st.Evictions)
	case "export":
		ix, err := db.Index(rest[0])
		if err != nil {
			return err
		}
		info, err := exportFile(ctx, ix.Namespace(rest[1]), rest[2])
		if err != nil {
			return err
		}
		fmt.Printf("exported %d records (%d bytes raw, %d written) to %s\n", info.Records, info.RawBytes, info.Bytes, rest[2])
	case "import":
		ix, err := db.Index(rest[0])
		if err != nil {
			return err
		}
		info, err := importFile(ctx, ix, rest[1], rest[2], &vectordb.ImportOptions{Replace: *replace})
		if err != nil {
			return err
		}
		fmt.Printf("imported %d records into %s/%s\n", info.Records, rest[0], rest[1])
	}
	return nil
}
