#include "device_wrap.h"

#include "addon_data.h"
#include "chunk_workers.h"
#include "device_workers.h"

namespace volbackd {

Napi::Function DeviceWrap::Define(Napi::Env env) {
  return DefineClass(env, "Device",
                     {InstanceMethod<&DeviceWrap::ReadInto>("readInto"),
                      InstanceMethod<&DeviceWrap::WriteChunk>("writeChunk"),
                      InstanceMethod<&DeviceWrap::ZeroRange>("zeroRange"),
                      InstanceMethod<&DeviceWrap::Sync>("sync"),
                      InstanceMethod<&DeviceWrap::Close>("close"),
                      InstanceMethod<&DeviceWrap::Info>("info")});
}

Napi::Object DeviceWrap::NewInstance(Napi::Env env, std::unique_ptr<Device> dev) {
  // The constructor is not callable from JS with a device: it takes an External.
  auto* raw = dev.release();
  return env.GetInstanceData<AddonData>()->device_ctor.New({Napi::External<Device>::New(env, raw)});
}

DeviceWrap::DeviceWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "Device objects come from openDevice()");
  }
  dev_.reset(info[0].As<Napi::External<Device>>().Data());
}

std::shared_ptr<Device> DeviceWrap::Claim(Napi::Env env) {
  if (closed_) throw Napi::Error::New(env, "EBADF: device " + dev_->info().path + " is closed");
  inflight_++;
  return dev_;
}

Napi::Value DeviceWrap::ReadInto(const Napi::CallbackInfo& info) { return QueueReadInto(info, this); }
Napi::Value DeviceWrap::WriteChunk(const Napi::CallbackInfo& info) { return QueueWriteChunk(info, this); }
Napi::Value DeviceWrap::ZeroRange(const Napi::CallbackInfo& info) { return QueueZeroRange(info, this); }
Napi::Value DeviceWrap::Sync(const Napi::CallbackInfo& info) { return QueueSync(info, this); }

Napi::Value DeviceWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(env.Undefined());
    return d.Promise();
  }
  if (inflight_ > 0) {
    throw Napi::Error::New(env, "EBUSY: device " + dev_->info().path + " has " + std::to_string(inflight_) +
                                    " operations in flight");
  }
  closed_ = true;
  return QueueClose(env, dev_);
}

Napi::Value DeviceWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const DeviceInfo& d = dev_->info();
  Napi::Object o = Napi::Object::New(env);
  o.Set("path", d.path);
  o.Set("kind", d.is_block ? "block" : "file");
  o.Set("direct", d.direct);
  o.Set("writable", d.writable);
  o.Set("size", Napi::Number::New(env, static_cast<double>(d.size)));
  o.Set("alignment", d.offset_align);
  o.Set("memAlignment", d.mem_align);
  o.Set("logicalBlockSize", d.logical_block);
  return o;
}

}  // namespace volbackd
