#include "daemon/app/decode_worker.h"

#include <utility>

namespace nsmd {

DecodeWorker::DecodeWorker(std::unique_ptr<EventDecoder> decoder)
    : decoder_(std::move(decoder)), thread_([this] { Run(); }) {
  batches_.push_back(std::make_unique<DecodedBatch>());
  filling_ = batches_.back().get();
}

DecodeWorker::~DecodeWorker() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void DecodeWorker::Submit() {
  if (filling_->empty()) return;
  {
    absl::MutexLock lock(&mu_);
    to_decode_.push_back(filling_);
  }
  ++in_flight_;
  if (free_.empty()) {
    batches_.push_back(std::make_unique<DecodedBatch>());
    free_.push_back(batches_.back().get());
  }
  filling_ = free_.back();
  free_.pop_back();
}

void DecodeWorker::TakeOldest(absl::FunctionRef<void(const DecodedBatch&)> fn) {
  DecodedBatch* batch;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &DecodeWorker::HasDecoded));
    batch = decoded_.front();
    decoded_.pop_front();
  }
  --in_flight_;
  fn(*batch);
  batch->Clear();
  free_.push_back(batch);
}

void DecodeWorker::set_decoder(std::unique_ptr<EventDecoder> decoder) {
  absl::MutexLock lock(&mu_);
  decoder_ = std::move(decoder);
}

void DecodeWorker::Run() {
  while (true) {
    DecodedBatch* batch;
    EventDecoder* decoder;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &DecodeWorker::HasWorkOrStopping));
      if (to_decode_.empty()) return;  // stopping, nothing left
      batch = to_decode_.front();
      to_decode_.pop_front();
      decoder = decoder_.get();  // replaced only while nothing is in flight
    }
    batch->Decode(decoder);
    absl::MutexLock lock(&mu_);
    decoded_.push_back(batch);
  }
}

}  // namespace nsmd
