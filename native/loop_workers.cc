#include "loop_workers.h"

#include "args.h"
#include "loop.h"
#include "promise_worker.h"

namespace volbackd {

namespace {

class AttachWorker : public PromiseWorker {
 public:
  AttachWorker(Napi::Env env, std::string path, LoopOptions opts)
      : PromiseWorker(env, "volbackd.attachLoop"), path_(std::move(path)), opts_(opts) {}

 protected:
  void Run() override { err_ = AttachLoop(path_, opts_, &info_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("device", info_.device);
    r.Set("number", info_.number);
    r.Set("directIo", info_.direct_io);
    r.Set("holdFd", info_.hold_fd >= 0 ? Napi::Value(Napi::Number::New(env, info_.hold_fd)) : env.Null());
    return r;
  }

 private:
  std::string path_;
  LoopOptions opts_;
  LoopInfo info_;
};

class DetachWorker : public PromiseWorker {
 public:
  DetachWorker(Napi::Env env, std::string device, int hold_fd)
      : PromiseWorker(env, "volbackd.detachLoop"), device_(std::move(device)), hold_fd_(hold_fd) {}

 protected:
  void Run() override { err_ = DetachLoop(device_, hold_fd_); }

 private:
  std::string device_;
  int hold_fd_;
};

}  // namespace

Napi::Value AttachLoopJs(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info[0], "path");
  Napi::Object o = OptionsArg(info, 1);
  LoopOptions opts;
  opts.direct_io = BoolOpt(o, "directIo", true);
  opts.read_only = BoolOpt(o, "readOnly", false);
  opts.autoclear = BoolOpt(o, "autoclear", false);
  Napi::Value bs = o.Get("blockSize");
  if (!bs.IsUndefined()) {
    uint64_t v = OffsetArg(bs, "blockSize");
    if (v != 0 && v != 512 && v != 1024 && v != 2048 && v != 4096) {
      throw Napi::RangeError::New(info.Env(), "blockSize must be 512, 1024, 2048 or 4096");
    }
    opts.block_size = static_cast<uint32_t>(v);
  }
  return (new AttachWorker(info.Env(), path, opts))->Queue();
}

Napi::Value DetachLoopJs(const Napi::CallbackInfo& info) {
  std::string device = StringArg(info[0], "device");
  int hold_fd = -1;
  if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) {
    hold_fd = static_cast<int>(OffsetArg(info[1], "holdFd"));
  }
  return (new DetachWorker(info.Env(), device, hold_fd))->Queue();
}

}  // namespace volbackd
