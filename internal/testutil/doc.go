// Package testutil holds the helpers shared by the tests of several
// packages of this module: deterministic random vectors, an exact
// brute-force scoring oracle, a logger that drops everything, and
// waiting on a condition with a deadline.
//
// It is imported by _test.go files only, never by non-test code. It
// does not import the root package vectordb, so that the root's own
// white-box tests (package vectordb) can use it too; helpers that need
// a *vectordb.DB live in the sub-package dbtest, for the external test
// packages (vectordb_test, server, cmd, benchmarks).
package testutil
