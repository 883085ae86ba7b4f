// One job: typed reads of JS arguments (sharp's AttrAs*). The TypeScript wrapper
// validates everything first, so these only guard against misuse of the raw addon.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "codec.h"

namespace volbackd {

inline std::string StringArg(const Napi::Value& v, const char* name) {
  if (!v.IsString()) throw Napi::TypeError::New(v.Env(), std::string(name) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

inline uint64_t OffsetArg(const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(name) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 9007199254740991.0 || std::floor(d) != d) {
    throw Napi::RangeError::New(v.Env(), std::string(name) + " must be a non-negative safe integer");
  }
  return static_cast<uint64_t>(d);
}

inline bool BoolOpt(const Napi::Object& o, const char* key, bool def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return def;
  if (!v.IsBoolean()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

// A chunk's length: 1 byte to 1 GiB.
inline size_t ChunkLengthArg(const Napi::Value& v) {
  uint64_t length = OffsetArg(v, "length");
  if (length == 0 || length > (1u << 30)) throw Napi::RangeError::New(v.Env(), "length must be 1 byte to 1 GiB");
  return static_cast<size_t>(length);
}

// Buffers a worker reads on the pool: `refs` keep them alive, `views` point into
// them, so Run() needs no napi call.
struct HeldBuffers {
  std::vector<Napi::Reference<Napi::Buffer<uint8_t>>> refs;
  std::vector<Segment> views;
};

// A Buffer or an array of Buffers (a body as it arrived, in segments).
inline HeldBuffers BuffersArg(const Napi::Value& v, const char* name) {
  const std::string what = std::string(name) + " must be a Buffer or an array of Buffers";
  HeldBuffers h;
  auto hold = [&](const Napi::Value& b) {
    if (!b.IsBuffer()) throw Napi::TypeError::New(v.Env(), what);
    Napi::Buffer<uint8_t> buf = b.As<Napi::Buffer<uint8_t>>();
    h.views.emplace_back(buf.Data(), buf.Length());
    h.refs.push_back(Napi::Persistent(buf));
  };
  if (v.IsArray()) {
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) hold(a.Get(i));
  } else {
    hold(v);
  }
  return h;
}

inline Napi::Object OptionsArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined()) return Napi::Object::New(info.Env());
  if (!info[i].IsObject()) throw Napi::TypeError::New(info.Env(), "options must be an object");
  return info[i].As<Napi::Object>();
}

}  // namespace volbackd
