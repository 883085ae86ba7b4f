// One job: page-aligned buffers for O_DIRECT, reused across chunks.
//
// Allocating a fresh 4 MiB buffer per chunk costs ~1000 page faults, which shows in
// the profile, so released buffers go back to a free list. The pool never blocks:
// the number of chunks in flight is bounded by the caller (the JS pipeline), and the
// pool only caps how much idle memory it keeps (kMaxIdleBytes), so memory is flat.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace volbackd {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  AlignedBuffer(uint8_t* data, size_t capacity) : data_(data), capacity_(capacity) {}
  AlignedBuffer(AlignedBuffer&& o) noexcept : data_(o.data_), capacity_(o.capacity_) {
    o.data_ = nullptr;
    o.capacity_ = 0;
  }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer();

  uint8_t* data() const { return data_; }
  size_t capacity() const { return capacity_; }
  explicit operator bool() const { return data_ != nullptr; }

 private:
  uint8_t* data_ = nullptr;
  size_t capacity_ = 0;
};

// A buffer on loan from the pool; returns itself when it goes out of scope.
class PooledBuffer {
 public:
  PooledBuffer() = default;
  explicit PooledBuffer(AlignedBuffer b) : buf_(std::move(b)) {}
  PooledBuffer(PooledBuffer&&) = default;
  // Returns the buffer it held to the pool (a defaulted move would free it behind
  // the pool's back and leave it counted as lent).
  PooledBuffer& operator=(PooledBuffer&& o);
  ~PooledBuffer();
  uint8_t* data() const { return buf_.data(); }
  size_t capacity() const { return buf_.capacity(); }
  explicit operator bool() const { return static_cast<bool>(buf_); }

 private:
  AlignedBuffer buf_;
};

class BufferPool {
 public:
  static constexpr size_t kAlignment = 4096;           // covers every dio alignment seen (512, 4096)
  static constexpr size_t kMaxIdleBytes = 96u << 20;   // idle memory kept for reuse

  static BufferPool& Instance();

  // A buffer of at least `size` bytes, aligned to kAlignment; empty on ENOMEM.
  PooledBuffer Acquire(size_t size);
  void Release(AlignedBuffer b);

  // Counters visible to JS (sharp's counters()): how many are lent and kept idle.
  struct Stats {
    size_t lent = 0;
    size_t idle = 0;
    size_t idle_bytes = 0;
    size_t allocations = 0;
  };
  Stats GetStats();

 private:
  std::mutex mu_;
  std::vector<AlignedBuffer> idle_;
  size_t idle_bytes_ = 0;
  size_t lent_ = 0;
  size_t allocations_ = 0;
};

}  // namespace volbackd
