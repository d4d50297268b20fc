// DecodeWorker: decodes batches of messages on its own thread, ahead of the
// pipeline thread that applies them.
#ifndef NSMD_DAEMON_APP_DECODE_WORKER_H_
#define NSMD_DAEMON_APP_DECODE_WORKER_H_

#include <cstddef>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "daemon/decode/decoded_batch.h"
#include "daemon/decode/event_decoder.h"

namespace nsmd {

// The pipeline thread adds polled messages to the filling batch and submits
// it; this worker decodes submitted batches in order on its thread; the
// pipeline thread takes them back, oldest first, and applies them. So one
// core decodes batch k+1 while the other applies batch k. Decoding is
// stateless (the decoder keeps only buffers and the wall-clock bound), so
// the order of outcomes is the order of the messages, as with inline
// decoding. Every method is called from one thread (the pipeline's).
class DecodeWorker {
 public:
  // Decodes with `decoder` (Pipeline::NewDecoder()).
  explicit DecodeWorker(std::unique_ptr<EventDecoder> decoder);
  // Waits for a batch being decoded, then stops the thread.
  ~DecodeWorker();
  DecodeWorker(const DecodeWorker&) = delete;
  DecodeWorker& operator=(const DecodeWorker&) = delete;

  // The batch to add messages to before Submit(); never null.
  DecodedBatch* filling() { return filling_; }

  // Hands the filling batch, if it holds messages, to the thread to decode;
  // an empty batch is filling afterwards.
  void Submit();

  // Batches submitted and not yet taken back.
  size_t in_flight() const { return in_flight_; }

  // Waits until the oldest batch submitted is decoded, then calls `fn` with
  // it; the batch is reused once `fn` returns. Requires in_flight() > 0.
  void TakeOldest(absl::FunctionRef<void(const DecodedBatch&)> fn);

  // Replaces the decoder (a reload may change the event format or the
  // fields read). Requires in_flight() == 0.
  void set_decoder(std::unique_ptr<EventDecoder> decoder);

 private:
  void Run();
  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !to_decode_.empty();
  }
  bool HasDecoded() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !decoded_.empty(); }

  // Owner thread only.
  std::vector<std::unique_ptr<DecodedBatch>> batches_;  // every batch made
  std::vector<DecodedBatch*> free_;                     // not in use
  DecodedBatch* filling_ = nullptr;
  size_t in_flight_ = 0;

  absl::Mutex mu_;
  std::unique_ptr<EventDecoder> decoder_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<DecodedBatch*> to_decode_ ABSL_GUARDED_BY(mu_);  // submitted, in order
  std::deque<DecodedBatch*> decoded_ ABSL_GUARDED_BY(mu_);    // done, in order
  std::thread thread_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_DECODE_WORKER_H_
