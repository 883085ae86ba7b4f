// One job: a chunk's bytes held in an aligned native buffer between the two
// stages of a backup (readInto, then processChunk). JS sees only its length; the
// bytes never cross into JS. The buffer returns to the pool when processChunk
// takes it, on release(), or when the object is collected.
#pragma once

#include <napi.h>

#include "buffer_pool.h"

namespace volbackd {

class ChunkData : public Napi::ObjectWrap<ChunkData> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object NewInstance(Napi::Env env, PooledBuffer buf, size_t length);
  explicit ChunkData(const Napi::CallbackInfo& info);

  // Hands the buffer over (to a process worker); empty afterwards.
  PooledBuffer Take() { return std::move(buf_); }
  bool Empty() const { return !buf_; }
  size_t length() const { return length_; }

 private:
  Napi::Value GetLength(const Napi::CallbackInfo& info);
  Napi::Value Release(const Napi::CallbackInfo& info);

  PooledBuffer buf_;
  size_t length_ = 0;
};

}  // namespace volbackd
