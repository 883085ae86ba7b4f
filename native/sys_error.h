// One job: carry a failure out of a worker thread and turn it into a JS error
// shaped like Node's own fs errors ("EIO: i/o error, pread '/dev/loop3'" with
// code, errno, syscall, path). Execute() fills a SysError; OnError() builds the
// JS object on the JS thread, so no napi call ever happens off that thread.
#pragma once

#include <napi.h>
#include <string>

namespace volbackd {

struct SysError {
  int err = 0;           // errno value (positive) when the failure is a syscall
  std::string code;      // our own code for non-errno failures (ERR_CHUNK_DIGEST ...)
  std::string syscall;   // the failing call: "open", "pread", "ioctl(BLKGETSIZE64)" ...
  std::string path;      // the file or device concerned
  std::string detail;    // extra words for the message

  bool failed() const { return err != 0 || !code.empty(); }

  static SysError Errno(int err, std::string syscall, std::string path, std::string detail = {}) {
    SysError e;
    e.err = err;
    e.syscall = std::move(syscall);
    e.path = std::move(path);
    e.detail = std::move(detail);
    return e;
  }
  static SysError Custom(std::string code, std::string detail, std::string path = {}) {
    SysError e;
    e.code = std::move(code);
    e.detail = std::move(detail);
    e.path = std::move(path);
    return e;
  }

  // The message alone, for AsyncWorker::SetError and for logs.
  std::string Message() const;
  // The JS Error object with code/errno/syscall/path properties.
  Napi::Error ToJs(Napi::Env env) const;
};

}  // namespace volbackd
