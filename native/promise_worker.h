// One job: the AsyncWorker shape every native operation uses (sharp's pattern).
// The entry point copies its JS arguments into the worker's plain fields on the JS
// thread; Run() executes on the libuv pool touching no napi and reports failure by
// filling err_; Result() builds the JS value on the JS thread; failures reject the
// promise with a Node-style error built from err_.
#pragma once

#include <napi.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys_error.h"

namespace volbackd {

// The pool threads that hash and compress would otherwise compete as equals with
// the JS thread for the cores: under a full-speed backup the API's latency then
// depends on the scheduler's time slices. Once per pool thread, its niceness is
// raised by kPoolNice (Linux: per thread), so the JS thread runs first whenever it
// has work, and the chunk work takes every cycle it leaves.
constexpr int kPoolNice = 19;
inline void LowerThisThreadPriority() {
  thread_local bool done = false;
  if (done) return;
  done = true;
  pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  int now = getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
  setpriority(PRIO_PROCESS, static_cast<id_t>(tid), now + kPoolNice);  // raising is always allowed
}

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
    LowerThisThreadPriority();
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
