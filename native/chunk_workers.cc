#include "chunk_workers.h"

#include <cstring>
#include <memory>
#include <vector>

#include "args.h"
#include "buffer_pool.h"
#include "codec.h"
#include "device_wrap.h"
#include "digest_set.h"
#include "promise_worker.h"

namespace volbackd {

namespace {

class ReadChunkWorker : public PromiseWorker {
 public:
  ReadChunkWorker(Napi::Env env, DeviceWrap* wrap) : PromiseWorker(env, "volbackd.readChunk"), claim_(wrap, env) {}

  uint64_t offset = 0;
  size_t length = 0;
  bool compress = false;
  bool md5 = false;
  bool claim_new = false;  // insert a new digest into `known` (dedupe within a run)
  std::shared_ptr<DigestSetCore> known;
  Napi::Reference<Napi::Buffer<uint8_t>> out_ref;
  uint8_t* out = nullptr;
  size_t out_cap = 0;

 protected:
  void Run() override {
    Device& dev = claim_.dev();
    PooledBuffer buf = BufferPool::Instance().Acquire(dev.AlignUp(length));
    if (!buf) {
      err_ = SysError::Errno(ENOMEM, "posix_memalign", dev.info().path);
      return;
    }
    err_ = dev.ReadAt(offset, length, buf.data());
    if (err_.failed()) return;
    zero_ = IsAllZero(buf.data(), length);
    if (zero_) return;  // zero chunks are recorded, never hashed or stored
    digest_ = Xxh3_128(buf.data(), length);
    if (known) {
      is_known_ = known->Contains(digest_);
      if (!is_known_ && claim_new) is_known_ = !known->Insert(digest_);
    }
    if (is_known_ || !compress) return;
    size_t n = Lz4FrameCompress(buf.data(), length, out, out_cap);
    if (n > 0 && n < length) {
      encoding_ = "lz4";
      size_ = n;
    } else {  // incompressible: the raw bytes are smaller than any frame
      memcpy(out, buf.data(), length);
      encoding_ = "raw";
      size_ = length;
    }
    if (md5) md5_ = Md5Hex(out, size_);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("zero", zero_);
    r.Set("digest", zero_ ? env.Null() : Napi::String::New(env, ToHex(digest_)));
    r.Set("known", is_known_);
    r.Set("encoding", encoding_ ? Napi::String::New(env, encoding_) : env.Null());
    r.Set("size", Napi::Number::New(env, static_cast<double>(size_)));
    r.Set("md5", md5_.empty() ? env.Null() : Napi::String::New(env, md5_));
    return r;
  }

 private:
  DeviceClaim claim_;
  bool zero_ = false;
  bool is_known_ = false;
  Digest digest_{};
  const char* encoding_ = nullptr;
  size_t size_ = 0;
  std::string md5_;
};

class WriteChunkWorker : public PromiseWorker {
 public:
  WriteChunkWorker(Napi::Env env, DeviceWrap* wrap)
      : PromiseWorker(env, "volbackd.writeChunk"), claim_(wrap, env) {}

  uint64_t offset = 0;
  size_t length = 0;
  bool lz4 = false;
  Digest expected{};
  std::vector<Segment> segments;
  std::vector<Napi::Reference<Napi::Buffer<uint8_t>>> segment_refs;

 protected:
  void Run() override {
    Device& dev = claim_.dev();
    const std::string& path = dev.info().path;
    PooledBuffer buf = BufferPool::Instance().Acquire(dev.AlignUp(length));
    if (!buf) {
      err_ = SysError::Errno(ENOMEM, "posix_memalign", path);
      return;
    }
    if (lz4) {
      std::string why = Lz4FrameDecode(segments, buf.data(), length);
      if (!why.empty()) {
        err_ = SysError::Custom("ERR_CHUNK_FRAME", why + " (chunk " + ToHex(expected) + ")", path);
        return;
      }
    } else {
      size_t total = 0;
      for (const Segment& s : segments) total += s.second;
      if (total != length) {
        err_ = SysError::Custom("ERR_CHUNK_LENGTH",
                                "raw chunk " + ToHex(expected) + " has " + std::to_string(total) +
                                    " bytes, expected " + std::to_string(length),
                                path);
        return;
      }
      size_t at = 0;
      for (const Segment& s : segments) {
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

Napi::Reference<Napi::Buffer<uint8_t>> BufferRef(const Napi::Value& v, const char* name) {
  if (!v.IsBuffer()) throw Napi::TypeError::New(v.Env(), std::string(name) + " must be a Buffer");
  return Napi::Persistent(v.As<Napi::Buffer<uint8_t>>());
}

}  // namespace

Napi::Value QueueReadChunk(const Napi::CallbackInfo& info, DeviceWrap* wrap) {
  Napi::Env env = info.Env();
  uint64_t offset = OffsetArg(info[0], "offset");
  uint64_t length = OffsetArg(info[1], "length");
  if (length == 0 || length > (1u << 30)) throw Napi::RangeError::New(env, "length must be 1 byte to 1 GiB");
  Napi::Object opts = OptionsArg(info, 2);
  auto* w = new ReadChunkWorker(env, wrap);
  std::unique_ptr<ReadChunkWorker> guard(w);  // freed if an argument throws
  w->offset = offset;
  w->length = static_cast<size_t>(length);
  w->compress = BoolOpt(opts, "compress", false);
  w->md5 = BoolOpt(opts, "md5", false);
  w->claim_new = BoolOpt(opts, "claim", false);
  Napi::Value known = opts.Get("known");
  if (!known.IsUndefined() && !known.IsNull()) {
    if (!known.IsObject()) throw Napi::TypeError::New(env, "known must be a DigestSet");
    w->known = Napi::ObjectWrap<DigestSet>::Unwrap(known.As<Napi::Object>())->core();
  }
  if (w->compress) {
    w->out_ref = BufferRef(opts.Get("out"), "out");
    w->out = w->out_ref.Value().Data();
    w->out_cap = w->out_ref.Value().Length();
    if (w->out_cap < Lz4FrameBound(w->length) || w->out_cap < w->length) {
      throw Napi::RangeError::New(env, "out must hold at least lz4FrameBound(length) bytes");
    }
  }
  guard.release();
  return w->Queue();
}

Napi::Value QueueWriteChunk(const Napi::CallbackInfo& info, DeviceWrap* wrap) {
  Napi::Env env = info.Env();
  uint64_t offset = OffsetArg(info[0], "offset");
  uint64_t length = OffsetArg(info[1], "length");
  if (length == 0 || length > (1u << 30)) throw Napi::RangeError::New(env, "length must be 1 byte to 1 GiB");
  std::string encoding = StringArg(info[3], "encoding");
  if (encoding != "lz4" && encoding != "raw") throw Napi::TypeError::New(env, "encoding must be 'lz4' or 'raw'");
  Digest expected;
  if (!ParseDigestHex(StringArg(info[4], "digest"), &expected)) {
    throw Napi::TypeError::New(env, "digest must be 32 hexadecimal digits");
  }
  auto* w = new WriteChunkWorker(env, wrap);
  std::unique_ptr<WriteChunkWorker> guard(w);
  w->offset = offset;
  w->length = static_cast<size_t>(length);
  w->lz4 = encoding == "lz4";
  w->expected = expected;
  if (info[2].IsBuffer()) {
    w->segment_refs.push_back(BufferRef(info[2], "segments"));
  } else if (info[2].IsArray()) {
    Napi::Array a = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) w->segment_refs.push_back(BufferRef(a.Get(i), "segments[i]"));
  } else {
    throw Napi::TypeError::New(env, "segments must be a Buffer or an array of Buffers");
  }
  for (auto& r : w->segment_refs) w->segments.emplace_back(r.Value().Data(), r.Value().Length());
  guard.release();
  return w->Queue();
}

}  // namespace volbackd
