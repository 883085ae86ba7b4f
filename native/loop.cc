#include "loop.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace volbackd {

namespace {

constexpr int kAttempts = 32;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  int release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

bool SysfsFlag(int number, const char* name) {
  std::ifstream f("/sys/block/loop" + std::to_string(number) + "/loop/" + name);
  int v = 0;
  return (f >> v) && v == 1;
}

}  // namespace

SysError AttachLoop(const std::string& backing, const LoopOptions& opts, LoopInfo* out) {
  Fd ctl;
  ctl.fd = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (ctl.fd < 0) return SysError::Errno(errno, "open", "/dev/loop-control");

  const int mode = opts.read_only ? O_RDONLY : O_RDWR;
  Fd file;
  // Opening the backing file with O_DIRECT is what makes the kernel use direct I/O
  // for it (no double caching in the backing file's page cache).
  file.fd = open(backing.c_str(), mode | O_CLOEXEC | (opts.direct_io ? O_DIRECT : 0));
  if (file.fd < 0 && opts.direct_io && errno == EINVAL) file.fd = open(backing.c_str(), mode | O_CLOEXEC);
  if (file.fd < 0) return SysError::Errno(errno, "open", backing);

  struct loop_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.fd = static_cast<__u32>(file.fd);
  cfg.block_size = opts.block_size;
  cfg.info.lo_flags = (opts.direct_io ? LO_FLAGS_DIRECT_IO : 0) | (opts.read_only ? LO_FLAGS_READ_ONLY : 0) |
                      (opts.autoclear ? LO_FLAGS_AUTOCLEAR : 0);
  strncpy(reinterpret_cast<char*>(cfg.info.lo_file_name), backing.c_str(), LO_NAME_SIZE - 1);

  int last_err = EBUSY;
  for (int attempt = 0; attempt < kAttempts; attempt++) {
    int n = ioctl(ctl.fd, LOOP_CTL_GET_FREE);
    if (n < 0) return SysError::Errno(errno, "ioctl(LOOP_CTL_GET_FREE)", "/dev/loop-control");
    std::string dev = "/dev/loop" + std::to_string(n);
    Fd loop;
    loop.fd = open(dev.c_str(), mode | O_CLOEXEC);
    if (loop.fd < 0) {
      // Removed or taken between GET_FREE and open: ask for another one.
      if (errno == ENOENT || errno == ENXIO || errno == EBUSY) {
        last_err = errno;
        usleep(1000 * (attempt + 1));
        continue;
      }
      return SysError::Errno(errno, "open", dev);
    }
    if (ioctl(loop.fd, LOOP_CONFIGURE, &cfg) != 0) {
      if (errno == EBUSY) {  // another process configured it first
        last_err = errno;
        usleep(1000 * (attempt + 1));
        continue;
      }
      return SysError::Errno(errno, "ioctl(LOOP_CONFIGURE)", dev, "backing file " + backing);
    }
    out->device = dev;
    out->number = n;
    out->direct_io = SysfsFlag(n, "dio");
    out->hold_fd = opts.autoclear ? loop.release() : -1;
    return SysError();
  }
  return SysError::Errno(last_err, "ioctl(LOOP_CONFIGURE)", backing,
                         "no free loop device after " + std::to_string(kAttempts) + " attempts");
}

SysError DetachLoop(const std::string& device, int hold_fd) {
  Fd loop;
  loop.fd = hold_fd >= 0 ? hold_fd : open(device.c_str(), O_RDONLY | O_CLOEXEC);
  if (loop.fd < 0) return SysError::Errno(errno, "open", device);
  if (ioctl(loop.fd, LOOP_CLR_FD, 0) != 0) {
    // ENXIO: not attached (already detached, e.g. autoclear did it). Not an error
    // for a caller whose goal is "detached".
    if (errno != ENXIO) return SysError::Errno(errno, "ioctl(LOOP_CLR_FD)", device);
  }
  return SysError();
}

}  // namespace volbackd
