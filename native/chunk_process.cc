#include "chunk_process.h"

#include <cstring>

#include "args.h"

namespace volbackd {

ChunkOptions ParseChunkOptions(const Napi::CallbackInfo& info, size_t index, size_t length) {
  Napi::Env env = info.Env();
  Napi::Object opts = OptionsArg(info, index);
  ChunkOptions o;
  o.compress = BoolOpt(opts, "compress", false);
  o.md5 = BoolOpt(opts, "md5", false);
  o.claim_new = BoolOpt(opts, "claim", false);
  Napi::Value known = opts.Get("known");
  if (!known.IsUndefined() && !known.IsNull()) {
    if (!known.IsObject()) throw Napi::TypeError::New(env, "known must be a DigestSet");
    o.known = Napi::ObjectWrap<DigestSet>::Unwrap(known.As<Napi::Object>())->core();
  }
  if (o.compress) {
    Napi::Value out = opts.Get("out");
    if (!out.IsBuffer()) throw Napi::TypeError::New(env, "out must be a Buffer");
    o.out_ref = Napi::Persistent(out.As<Napi::Buffer<uint8_t>>());
    o.out = o.out_ref.Value().Data();
    o.out_cap = o.out_ref.Value().Length();
    if (o.out_cap < Lz4FrameBound(length) || o.out_cap < length) {
      throw Napi::RangeError::New(env, "out must hold at least lz4FrameBound(length) bytes");
    }
  }
  return o;
}

ChunkOutcome ProcessChunk(const uint8_t* data, size_t length, const ChunkOptions& o) {
  ChunkOutcome r;
  r.zero = IsAllZero(data, length);
  if (r.zero) return r;  // zero chunks are recorded, never hashed or stored
  r.digest = Xxh3_128(data, length);
  if (o.known) {
    r.known = o.known->Contains(r.digest);
    if (!r.known && o.claim_new) r.known = !o.known->Insert(r.digest);
  }
  if (r.known || !o.compress) return r;
  size_t n = Lz4FrameCompress(data, length, o.out, o.out_cap);
  if (n > 0 && n < length) {
    r.encoding = "lz4";
    r.size = n;
  } else {  // incompressible: the raw bytes are smaller than any frame
    memcpy(o.out, data, length);
    r.encoding = "raw";
    r.size = length;
  }
  if (o.md5) r.md5 = Md5Hex(o.out, r.size);
  return r;
}

Napi::Object OutcomeToJs(Napi::Env env, const ChunkOutcome& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("zero", r.zero);
  o.Set("digest", r.zero ? env.Null() : Napi::String::New(env, ToHex(r.digest)));
  o.Set("known", r.known);
  o.Set("encoding", r.encoding ? Napi::String::New(env, r.encoding) : env.Null());
  o.Set("size", Napi::Number::New(env, static_cast<double>(r.size)));
  o.Set("md5", r.md5.empty() ? env.Null() : Napi::String::New(env, r.md5));
  return o;
}

}  // namespace volbackd
