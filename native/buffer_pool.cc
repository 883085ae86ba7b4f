#include "buffer_pool.h"

#include <cstdlib>

namespace volbackd {

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& o) noexcept {
  if (this != &o) {
    free(data_);
    data_ = o.data_;
    capacity_ = o.capacity_;
    o.data_ = nullptr;
    o.capacity_ = 0;
  }
  return *this;
}

AlignedBuffer::~AlignedBuffer() { free(data_); }

PooledBuffer::~PooledBuffer() {
  if (buf_) BufferPool::Instance().Release(std::move(buf_));
}

PooledBuffer& PooledBuffer::operator=(PooledBuffer&& o) {
  if (this != &o) {
    if (buf_) BufferPool::Instance().Release(std::move(buf_));
    buf_ = std::move(o.buf_);
  }
  return *this;
}

BufferPool& BufferPool::Instance() {
  static BufferPool pool;
  return pool;
}

PooledBuffer BufferPool::Acquire(size_t size) {
  // Round to 1 MiB so chunks of slightly different lengths share buffers.
  const size_t want = (size + (1u << 20) - 1) & ~static_cast<size_t>((1u << 20) - 1);
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Best fit among idle buffers: the list is short (a few dozen at most).
    size_t best = idle_.size();
    for (size_t i = 0; i < idle_.size(); i++) {
      if (idle_[i].capacity() >= want &&
          (best == idle_.size() || idle_[i].capacity() < idle_[best].capacity())) {
        best = i;
      }
    }
    if (best != idle_.size()) {
      AlignedBuffer b = std::move(idle_[best]);
      idle_[best] = std::move(idle_.back());
      idle_.pop_back();
      idle_bytes_ -= b.capacity();
      lent_++;
      return PooledBuffer(std::move(b));
    }
  }
  void* p = nullptr;
  if (posix_memalign(&p, kAlignment, want) != 0) return PooledBuffer();
  std::lock_guard<std::mutex> lock(mu_);
  lent_++;
  allocations_++;
  return PooledBuffer(AlignedBuffer(static_cast<uint8_t*>(p), want));
}

void BufferPool::Release(AlignedBuffer b) {
  std::lock_guard<std::mutex> lock(mu_);
  lent_--;
  if (idle_bytes_ + b.capacity() > kMaxIdleBytes) return;  // freed by b's destructor
  idle_bytes_ += b.capacity();
  idle_.push_back(std::move(b));
}

BufferPool::Stats BufferPool::GetStats() {
  std::lock_guard<std::mutex> lock(mu_);
  return Stats{lent_, idle_.size(), idle_bytes_, allocations_};
}

}  // namespace volbackd
