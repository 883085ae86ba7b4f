// One job: the JS face of an open Device. Each method copies its arguments and
// queues one worker; the wrap counts the workers in flight so close() cannot pull
// the fd from under them.
#pragma once

#include <napi.h>

#include <memory>

#include "device.h"

namespace volbackd {

class DeviceWrap : public Napi::ObjectWrap<DeviceWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  // Called from OpenWorker::Result on the JS thread.
  static Napi::Object NewInstance(Napi::Env env, std::unique_ptr<Device> dev);

  explicit DeviceWrap(const Napi::CallbackInfo& info);

  // A worker's claim on the device for its lifetime.
  std::shared_ptr<Device> Claim(Napi::Env env);
  void Unclaim() { inflight_--; }

 private:
  Napi::Value ReadInto(const Napi::CallbackInfo& info);
  Napi::Value WriteChunk(const Napi::CallbackInfo& info);
  Napi::Value ZeroRange(const Napi::CallbackInfo& info);
  Napi::Value Sync(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);

  std::shared_ptr<Device> dev_;
  int inflight_ = 0;  // touched on the JS thread only
  bool closed_ = false;
};

// A claim released on the JS thread when the worker is done; keeps the JS object
// (and so the wrap) alive meanwhile.
class DeviceClaim {
 public:
  DeviceClaim(DeviceWrap* wrap, Napi::Env env)
      : wrap_(wrap), ref_(Napi::Persistent(wrap->Value())), dev_(wrap->Claim(env)) {}
  ~DeviceClaim() { wrap_->Unclaim(); }
  Device& dev() const { return *dev_; }

 private:
  DeviceWrap* wrap_;
  Napi::ObjectReference ref_;
  std::shared_ptr<Device> dev_;
};

}  // namespace volbackd
