// volbackd's native addon: registers exports, nothing else (sharp's sharp.cc).
// Every export that touches a device or chunk bytes returns a Promise and runs on
// the libuv thread pool; see device.h, codec.h, loop.h for the work itself.
#include <napi.h>

#include "addon_data.h"
#include "buffer_pool.h"
#include "chunk_data.h"
#include "chunk_workers.h"
#include "codec.h"
#include "device_workers.h"
#include "device_wrap.h"
#include "digest_set.h"
#include "loop_workers.h"

namespace volbackd {

static Napi::Value Lz4FrameBoundJs(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "length must be a number");
  double n = info[0].As<Napi::Number>().DoubleValue();
  if (!(n >= 0) || n > (1u << 30)) throw Napi::RangeError::New(info.Env(), "length must be 0 to 1 GiB");
  return Napi::Number::New(info.Env(), static_cast<double>(Lz4FrameBound(static_cast<size_t>(n))));
}

static Napi::Value PoolStatsJs(const Napi::CallbackInfo& info) {
  BufferPool::Stats s = BufferPool::Instance().GetStats();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("lent", static_cast<double>(s.lent));
  o.Set("idle", static_cast<double>(s.idle));
  o.Set("idleBytes", static_cast<double>(s.idle_bytes));
  o.Set("allocations", static_cast<double>(s.allocations));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  Napi::Function device = DeviceWrap::Define(env);
  Napi::Function chunk_data = ChunkData::Define(env);
  data->device_ctor = Napi::Persistent(device);
  data->chunk_data_ctor = Napi::Persistent(chunk_data);
  env.SetInstanceData(data);

  exports.Set("Device", device);
  exports.Set("DigestSet", DigestSet::Define(env));
  exports.Set("ChunkData", chunk_data);
  exports.Set("processChunk", Napi::Function::New(env, ProcessChunkJs, "processChunk"));
  exports.Set("openDevice", Napi::Function::New(env, OpenDevice, "openDevice"));
  exports.Set("dataRanges", Napi::Function::New(env, DataRangesJs, "dataRanges"));
  exports.Set("syncFs", Napi::Function::New(env, SyncFsJs, "syncFs"));
  exports.Set("writeNewFile", Napi::Function::New(env, WriteNewFileJs, "writeNewFile"));
  exports.Set("md5", Napi::Function::New(env, Md5Js, "md5"));
  exports.Set("attachLoop", Napi::Function::New(env, AttachLoopJs, "attachLoop"));
  exports.Set("detachLoop", Napi::Function::New(env, DetachLoopJs, "detachLoop"));
  exports.Set("lz4FrameBound", Napi::Function::New(env, Lz4FrameBoundJs, "lz4FrameBound"));
  exports.Set("bufferPoolStats", Napi::Function::New(env, PoolStatsJs, "bufferPoolStats"));
  return exports;
}

}  // namespace volbackd

static Napi::Object InitBlockio(Napi::Env env, Napi::Object exports) { return volbackd::Init(env, exports); }

NODE_API_MODULE(blockio, InitBlockio)
