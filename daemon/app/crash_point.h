// Test-only crash points, in the spirit of RocksDB's sync points: let an
// integration test kill the daemon at an exact place (e.g. between writing a
// checkpoint to RocksDB and committing the offsets to Kafka) instead of at a
// random moment that may never land there.
//
// TEST ONLY. Set NSMD_TEST_CRASH_POINT=<name>:<n> in the environment of
// `nsmd run`: the n-th time (1-based) the process passes the crash point
// `name`, it kills itself with SIGKILL (no cleanup, like `kill -9`). When the
// variable is unset (production) every crash point is a no-op: one atomic
// load.
//
// Points in the daemon (see run_command.cc and pipeline.cc):
//   checkpoint_before_write  a non-empty checkpoint's state + offsets batch is
//                            built but not yet written to RocksDB;
//   checkpoint_after_rekeyed  (with kafka.rekey) the checkpoint's
//                            repartition records are on the brokers, its
//                            changelog records not yet, the transaction not
//                            committed;
//   checkpoint_after_changelog  (with a changelog) the checkpoint's Kafka
//                            transaction is committed but its RocksDB batch
//                            is not yet written;
//   checkpoint_after_write   the batch is written (fsync'ed) but neither the
//                            Kafka offset commit nor the in-memory bookkeeping
//                            has happened;
//   after_kafka_commit       a non-empty checkpoint's offsets were just
//                            committed to Kafka.
#ifndef NSMD_DAEMON_APP_CRASH_POINT_H_
#define NSMD_DAEMON_APP_CRASH_POINT_H_

namespace nsmd {

// Reads NSMD_TEST_CRASH_POINT once; call at daemon start before any thread
// passes a crash point. A malformed value is reported on stderr and ignored.
void InitCrashPointFromEnv();

// Passes the crash point `name`: SIGKILLs the process if this is the n-th
// pass of the armed point; otherwise does nothing. Thread-safe.
void CrashPoint(const char* name);

// True if crash point `name` is armed (to do what only passing it needs).
bool CrashPointArmed(const char* name);

// TEST ONLY. True if NSMD_TEST_FAIL_POINT=<name> is set in the environment:
// the caller then fails as if the step at `name` had failed (points:
// start_after_http, Start() failing once the HTTP server is up and a reload
// request is waiting). Reads the environment at each call: for one-off
// steps such as start-up, never the hot path.
bool TestFailPoint(const char* name);

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_CRASH_POINT_H_
