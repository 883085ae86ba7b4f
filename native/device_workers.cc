#include "device_workers.h"

#include <memory>
#include <vector>

#include "codec.h"

#include "args.h"
#include "device_wrap.h"
#include "file_write.h"
#include "promise_worker.h"

namespace volbackd {

namespace {

class OpenWorker : public PromiseWorker {
 public:
  OpenWorker(Napi::Env env, std::string path, OpenOptions opts)
      : PromiseWorker(env, "volbackd.open"), path_(std::move(path)), opts_(opts) {}

 protected:
  void Run() override { err_ = Device::Open(path_, opts_, &dev_); }
  Napi::Value Result(Napi::Env env) override { return DeviceWrap::NewInstance(env, std::move(dev_)); }

 private:
  std::string path_;
  OpenOptions opts_;
  std::unique_ptr<Device> dev_;
};

class ZeroWorker : public PromiseWorker {
 public:
  ZeroWorker(Napi::Env env, DeviceWrap* wrap, uint64_t offset, uint64_t length)
      : PromiseWorker(env, "volbackd.zeroRange"), claim_(wrap, env), offset_(offset), length_(length) {}

 protected:
  void Run() override { err_ = claim_.dev().ZeroRange(offset_, length_, &method_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("method", method_);
    return r;
  }

 private:
  DeviceClaim claim_;
  uint64_t offset_, length_;
  std::string method_;
};

class SyncWorker : public PromiseWorker {
 public:
  SyncWorker(Napi::Env env, DeviceWrap* wrap) : PromiseWorker(env, "volbackd.sync"), claim_(wrap, env) {}

 protected:
  void Run() override { err_ = claim_.dev().Sync(); }

 private:
  DeviceClaim claim_;
};

class CloseWorker : public PromiseWorker {
 public:
  CloseWorker(Napi::Env env, std::shared_ptr<Device> dev) : PromiseWorker(env, "volbackd.close"), dev_(std::move(dev)) {}

 protected:
  // close() of a block device can flush: off the JS thread too.
  void Run() override { err_ = dev_->Close(); }

 private:
  std::shared_ptr<Device> dev_;
};

class WriteNewFileWorker : public PromiseWorker {
 public:
  WriteNewFileWorker(Napi::Env env, std::string path, Napi::Buffer<uint8_t> body, bool sync)
      : PromiseWorker(env, "volbackd.writeNewFile"),
        path_(std::move(path)),
        ref_(Napi::Persistent(body)),
        data_(body.Data()),
        len_(body.Length()),
        sync_(sync) {}

 protected:
  void Run() override { err_ = WriteNewFile(path_, data_, len_, sync_); }

 private:
  std::string path_;
  Napi::Reference<Napi::Buffer<uint8_t>> ref_;  // keeps the bytes alive while the worker writes them
  const uint8_t* data_;
  size_t len_;
  bool sync_;
};

class Md5Worker : public PromiseWorker {
 public:
  Md5Worker(Napi::Env env, HeldBuffers segments) : PromiseWorker(env, "volbackd.md5"), segments_(std::move(segments)) {}

 protected:
  void Run() override {
    hex_ = Md5HexSegments(segments_.views);
    if (hex_.empty()) err_ = SysError::Custom("ERR_MD5", "OpenSSL could not compute an MD5");
  }
  Napi::Value Result(Napi::Env env) override { return Napi::String::New(env, hex_); }

 private:
  HeldBuffers segments_;
  std::string hex_;
};

class SyncFsWorker : public PromiseWorker {
 public:
  SyncFsWorker(Napi::Env env, std::string path) : PromiseWorker(env, "volbackd.syncFs"), path_(std::move(path)) {}

 protected:
  void Run() override { err_ = SyncFs(path_); }

 private:
  std::string path_;
};

class DataRangesWorker : public PromiseWorker {
 public:
  DataRangesWorker(Napi::Env env, std::string path, uint64_t start, uint64_t end)
      : PromiseWorker(env, "volbackd.dataRanges"), path_(std::move(path)), start_(start), end_(end) {}

 protected:
  void Run() override { err_ = DataRanges(path_, start_, end_, &ranges_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array a = Napi::Array::New(env, ranges_.size());
    for (size_t i = 0; i < ranges_.size(); i++) {
      Napi::Array r = Napi::Array::New(env, 2);
      r.Set(0u, Napi::Number::New(env, static_cast<double>(ranges_[i].first)));
      r.Set(1u, Napi::Number::New(env, static_cast<double>(ranges_[i].second)));
      a.Set(static_cast<uint32_t>(i), r);
    }
    return a;
  }

 private:
  std::string path_;
  uint64_t start_, end_;
  std::vector<std::pair<uint64_t, uint64_t>> ranges_;
};

}  // namespace

Napi::Value OpenDevice(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info[0], "path");
  Napi::Object o = OptionsArg(info, 1);
  OpenOptions opts;
  opts.write = BoolOpt(o, "write", false);
  opts.direct = BoolOpt(o, "direct", true);
  opts.allow_buffered = BoolOpt(o, "allowBuffered", false);
  return (new OpenWorker(info.Env(), path, opts))->Queue();
}

Napi::Value WriteNewFileJs(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info[0], "path");
  if (!info[1].IsBuffer()) throw Napi::TypeError::New(info.Env(), "body must be a Buffer");
  if (!info[2].IsBoolean()) throw Napi::TypeError::New(info.Env(), "sync must be a boolean");
  return (new WriteNewFileWorker(info.Env(), path, info[1].As<Napi::Buffer<uint8_t>>(), info[2].As<Napi::Boolean>().Value()))->Queue();
}

Napi::Value Md5Js(const Napi::CallbackInfo& info) {
  if (!info[0].IsArray()) throw Napi::TypeError::New(info.Env(), "segments must be an array of Buffers");
  return (new Md5Worker(info.Env(), BuffersArg(info[0], "segments")))->Queue();
}

Napi::Value SyncFsJs(const Napi::CallbackInfo& info) {
  return (new SyncFsWorker(info.Env(), StringArg(info[0], "path")))->Queue();
}

Napi::Value DataRangesJs(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info[0], "path");
  uint64_t start = OffsetArg(info[1], "start");
  uint64_t end = OffsetArg(info[2], "end");
  return (new DataRangesWorker(info.Env(), path, start, end))->Queue();
}

Napi::Value QueueZeroRange(const Napi::CallbackInfo& info, DeviceWrap* wrap) {
  uint64_t offset = OffsetArg(info[0], "offset");
  uint64_t length = OffsetArg(info[1], "length");
  return (new ZeroWorker(info.Env(), wrap, offset, length))->Queue();
}

Napi::Value QueueSync(const Napi::CallbackInfo& info, DeviceWrap* wrap) {
  return (new SyncWorker(info.Env(), wrap))->Queue();
}

Napi::Value QueueClose(Napi::Env env, std::shared_ptr<Device> dev) {
  return (new CloseWorker(env, std::move(dev)))->Queue();
}

}  // namespace volbackd
