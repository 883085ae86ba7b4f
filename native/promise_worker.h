// One job: the AsyncWorker shape every native operation uses (sharp's pattern).
// The entry point copies its JS arguments into the worker's plain fields on the JS
// thread; Run() executes on the libuv pool touching no napi and reports failure by
// filling err_; Result() builds the JS value on the JS thread; failures reject the
// promise with a Node-style error built from err_.
#pragma once

#include <napi.h>

#include "sys_error.h"

namespace volbackd {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Queue() {
    Napi::Promise p = deferred_.Promise();
    Napi::AsyncWorker::Queue();
    return p;
  }

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }
  // Runs on the JS thread after Run(), success or not (release device claims etc).
  virtual void Done() {}

  SysError err_;

 private:
  void Execute() override {
    Run();
    if (err_.failed()) SetError(err_.Message());
  }
  void OnOK() override {
    Done();
    Napi::HandleScope scope(Env());
    deferred_.Resolve(Result(Env()));
  }
  void OnError(const Napi::Error&) override {
    Done();
    Napi::HandleScope scope(Env());
    deferred_.Reject(err_.ToJs(Env()).Value());
  }

  Napi::Promise::Deferred deferred_;
};

}  // namespace volbackd
