#include "chunk_workers.h"

#include <cstring>

#include "args.h"
#include "buffer_pool.h"
#include "chunk_data.h"
#include "chunk_process.h"
#include "codec.h"
#include "device_wrap.h"
#include "promise_worker.h"

namespace volbackd {

namespace {

// A pool buffer that can take `length` bytes at the device's alignment (what
// Device::ReadAt and WriteAt need).
SysError AcquireFor(const Device& dev, size_t length, PooledBuffer* buf) {
  *buf = BufferPool::Instance().Acquire(dev.AlignUp(length));
  return *buf ? SysError() : SysError::Errno(ENOMEM, "posix_memalign", dev.info().path);
}

// Stage one of the two-stage path: the read alone (a pool thread waiting on the
// disk, not on a core); the bytes stay in native memory, in a ChunkData.
class ReadIntoWorker : public PromiseWorker {
 public:
  ReadIntoWorker(Napi::Env env, DeviceWrap* wrap) : PromiseWorker(env, "volbackd.readInto"), claim_(wrap, env) {}

  uint64_t offset = 0;
  size_t length = 0;

 protected:
  void Run() override {
    Device& dev = claim_.dev();
    err_ = AcquireFor(dev, length, &buf_);
    if (!err_.failed()) err_ = dev.ReadAt(offset, length, buf_.data());
  }

  Napi::Value Result(Napi::Env env) override { return ChunkData::NewInstance(env, std::move(buf_), length); }

 private:
  DeviceClaim claim_;
  PooledBuffer buf_;
};

// Stage two: the CPU work on bytes a readInto left in memory.
class ProcessWorker : public PromiseWorker {
 public:
  ProcessWorker(Napi::Env env, PooledBuffer buf, size_t length)
      : PromiseWorker(env, "volbackd.processChunk"), buf_(std::move(buf)), length_(length) {}

  ChunkOptions opts;

 protected:
  void Run() override {
    outcome_ = ProcessChunk(buf_.data(), length_, opts);
    PooledBuffer done = std::move(buf_);  // back to the pool from this thread, at once
  }
  Napi::Value Result(Napi::Env env) override { return OutcomeToJs(env, outcome_); }

 private:
  PooledBuffer buf_;
  size_t length_;
  ChunkOutcome outcome_;
};

class WriteChunkWorker : public PromiseWorker {
 public:
  WriteChunkWorker(Napi::Env env, DeviceWrap* wrap)
      : PromiseWorker(env, "volbackd.writeChunk"), claim_(wrap, env) {}

  uint64_t offset = 0;
  size_t length = 0;
  bool lz4 = false;
  Digest expected{};
  HeldBuffers body;  // the stored object, in the segments it arrived in

 protected:
  void Run() override {
    Device& dev = claim_.dev();
    const std::string& path = dev.info().path;
    PooledBuffer buf;
    err_ = AcquireFor(dev, length, &buf);
    if (err_.failed()) return;
    if (lz4) {
      std::string why = Lz4FrameDecode(body.views, buf.data(), length);
      if (!why.empty()) {
        err_ = SysError::Custom("ERR_CHUNK_FRAME", why + " (chunk " + ToHex(expected) + ")", path);
        return;
      }
    } else {
      size_t total = 0;
      for (const Segment& s : body.views) total += s.second;
      if (total != length) {
        err_ = SysError::Custom("ERR_CHUNK_LENGTH",
                                "raw chunk " + ToHex(expected) + " has " + std::to_string(total) +
                                    " bytes, expected " + std::to_string(length),
                                path);
        return;
      }
      size_t at = 0;
      for (const Segment& s : body.views) {
        memcpy(buf.data() + at, s.first, s.second);
        at += s.second;
      }
    }
    // Verify before writing: a damaged chunk never reaches the volume.
    Digest got = Xxh3_128(buf.data(), length);
    if (got != expected) {
      err_ = SysError::Custom("ERR_CHUNK_DIGEST",
                              "chunk " + ToHex(expected) + " decodes to bytes whose digest is " + ToHex(got), path);
      return;
    }
    err_ = dev.WriteAt(offset, buf.data(), length);
  }

 private:
  DeviceClaim claim_;
};

}  // namespace

Napi::Value QueueReadInto(const Napi::CallbackInfo& info, DeviceWrap* wrap) {
  uint64_t offset = OffsetArg(info[0], "offset");
  size_t length = ChunkLengthArg(info[1]);
  auto* w = new ReadIntoWorker(info.Env(), wrap);
  w->offset = offset;
  w->length = length;
  return w->Queue();
}

Napi::Value ProcessChunkJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "processChunk takes a ChunkData from device.readInto()");
  ChunkData* data = Napi::ObjectWrap<ChunkData>::Unwrap(info[0].As<Napi::Object>());
  if (data->Empty()) throw Napi::Error::New(env, "this ChunkData was already processed or released");
  ChunkOptions opts = ParseChunkOptions(info, 1, data->length());
  size_t length = data->length();
  auto* w = new ProcessWorker(env, data->Take(), length);
  w->opts = std::move(opts);
  return w->Queue();
}

Napi::Value QueueWriteChunk(const Napi::CallbackInfo& info, DeviceWrap* wrap) {
  Napi::Env env = info.Env();
  uint64_t offset = OffsetArg(info[0], "offset");
  size_t length = ChunkLengthArg(info[1]);
  std::string encoding = StringArg(info[3], "encoding");
  if (encoding != "lz4" && encoding != "raw") throw Napi::TypeError::New(env, "encoding must be 'lz4' or 'raw'");
  Digest expected;
  if (!ParseDigestHex(StringArg(info[4], "digest"), &expected)) {
    throw Napi::TypeError::New(env, "digest must be 32 hexadecimal digits");
  }
  HeldBuffers body = BuffersArg(info[2], "segments");
  // Arguments are all read: constructing the worker claims the device.
  auto* w = new WriteChunkWorker(env, wrap);
  w->offset = offset;
  w->length = length;
  w->lz4 = encoding == "lz4";
  w->expected = expected;
  w->body = std::move(body);
  return w->Queue();
}

}  // namespace volbackd
