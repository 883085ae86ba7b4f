// One job: the workers for whole-device operations (open, zero a range, sync,
// close) and for mapping a file's allocated extents.
#pragma once

#include <napi.h>

#include <memory>

#include "device.h"

namespace volbackd {

class DeviceWrap;

// openDevice(path, { write, direct, allowBuffered }) -> Promise<Device>
Napi::Value OpenDevice(const Napi::CallbackInfo& info);
// writeNewFile(path, buffer, sync) -> Promise<void> (see file_write.h)
Napi::Value WriteNewFileJs(const Napi::CallbackInfo& info);
// md5(segments) -> Promise<string>: the MD5 of a received body, off the JS thread
Napi::Value Md5Js(const Napi::CallbackInfo& info);
// syncFs(path) -> Promise<void>: syncfs(2) of the file system holding path
Napi::Value SyncFsJs(const Napi::CallbackInfo& info);
// dataRanges(path, start, end) -> Promise<Array<[start, end]>>
Napi::Value DataRangesJs(const Napi::CallbackInfo& info);

Napi::Value QueueZeroRange(const Napi::CallbackInfo& info, DeviceWrap* wrap);
Napi::Value QueueSync(const Napi::CallbackInfo& info, DeviceWrap* wrap);
Napi::Value QueueClose(Napi::Env env, std::shared_ptr<Device> dev);

}  // namespace volbackd
