#include "sys_error.h"

#include <uv.h>

namespace volbackd {

std::string SysError::Message() const {
  std::string msg;
  if (err != 0) {
    // uv's names and texts are exactly what Node prints for fs errors.
    msg = std::string(uv_err_name(-err)) + ": " + uv_strerror(-err);
    if (!syscall.empty()) msg += ", " + syscall;
    if (!path.empty()) msg += " '" + path + "'";
    if (!detail.empty()) msg += " (" + detail + ")";
  } else {
    msg = code + ": " + detail;
    if (!path.empty()) msg += " '" + path + "'";
  }
  return msg;
}

Napi::Error SysError::ToJs(Napi::Env env) const {
  Napi::Error e = Napi::Error::New(env, Message());
  Napi::Object o = e.Value();
  if (err != 0) {
    o.Set("code", uv_err_name(-err));
    o.Set("errno", Napi::Number::New(env, -err));
  } else {
    o.Set("code", code);
  }
  if (!syscall.empty()) o.Set("syscall", syscall);
  if (!path.empty()) o.Set("path", path);
  return e;
}

}  // namespace volbackd
