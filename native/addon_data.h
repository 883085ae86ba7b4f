// Per-environment state of the addon: the class constructors it creates objects
// with (worker threads and multiple environments each get their own).
#pragma once

#include <napi.h>

namespace volbackd {

struct AddonData {
  Napi::FunctionReference device_ctor;
  Napi::FunctionReference chunk_data_ctor;
};

}  // namespace volbackd
