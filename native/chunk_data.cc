#include "chunk_data.h"

#include "addon_data.h"

namespace volbackd {

namespace {
// Handed from NewInstance to the constructor (the JS constructor takes no bytes).
struct Pending {
  PooledBuffer buf;
  size_t length;
};
}  // namespace

Napi::Function ChunkData::Define(Napi::Env env) {
  return DefineClass(env, "ChunkData",
                     {InstanceAccessor<&ChunkData::GetLength>("length"), InstanceMethod<&ChunkData::Release>("release")});
}

Napi::Object ChunkData::NewInstance(Napi::Env env, PooledBuffer buf, size_t length) {
  Pending p{std::move(buf), length};
  return env.GetInstanceData<AddonData>()->chunk_data_ctor.New({Napi::External<Pending>::New(env, &p)});
}

ChunkData::ChunkData(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ChunkData>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "ChunkData objects come from device.readInto()");
  Pending* p = info[0].As<Napi::External<Pending>>().Data();
  buf_ = std::move(p->buf);
  length_ = p->length;
}

Napi::Value ChunkData::GetLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(buf_ ? length_ : 0));
}

Napi::Value ChunkData::Release(const Napi::CallbackInfo& info) {
  PooledBuffer gone = Take();  // back to the pool now, not at the next GC
  return info.Env().Undefined();
}

}  // namespace volbackd
