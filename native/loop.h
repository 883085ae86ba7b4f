// One job: attach a regular file to a free loop device and detach it again, with
// the kernel's ioctls (LOOP_CTL_GET_FREE + LOOP_CONFIGURE, LOOP_CLR_FD); no losetup.
//
// Other processes take loop devices too, so a device that GET_FREE handed out can
// be gone by the time we configure it (EBUSY): take the next free one and retry.
// With autoclear the kernel detaches the device when its last opener closes it;
// the attach then keeps one fd open (hold_fd) and the caller closes it to detach,
// so a process that dies — even by SIGKILL — never leaks its loop devices.
#pragma once

#include <cstdint>
#include <string>

#include "sys_error.h"

namespace volbackd {

struct LoopOptions {
  bool direct_io = true;
  bool read_only = false;
  bool autoclear = false;
  uint32_t block_size = 0;  // logical block size; 0 = the kernel's default (512)
};

struct LoopInfo {
  std::string device;  // "/dev/loopN"
  int number = -1;
  bool direct_io = false;  // what the kernel actually enabled (/sys/block/loopN/loop/dio)
  int hold_fd = -1;        // with autoclear: the fd keeping the device attached
};

SysError AttachLoop(const std::string& backing, const LoopOptions& opts, LoopInfo* out);
// Detaches `device`; when hold_fd >= 0 it is the fd from AttachLoop and is closed.
SysError DetachLoop(const std::string& device, int hold_fd);

}  // namespace volbackd
