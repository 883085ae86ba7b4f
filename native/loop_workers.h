// One job: the JS entry points for loop devices (see loop.h).
#pragma once

#include <napi.h>

namespace volbackd {

// attachLoop(path, { directIo, readOnly, autoclear, blockSize }) -> Promise<{ device, number, directIo, holdFd }>
Napi::Value AttachLoopJs(const Napi::CallbackInfo& info);
// detachLoop(device, holdFd) -> Promise<void>
Napi::Value DetachLoopJs(const Napi::CallbackInfo& info);

}  // namespace volbackd
