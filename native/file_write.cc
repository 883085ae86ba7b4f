#include "file_write.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace volbackd {

SysError WriteNewFile(const std::string& path, const uint8_t* data, size_t len, bool sync) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return SysError::Errno(errno, "open", path);
  SysError err;
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(fd, data + done, len - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = SysError::Errno(errno, "write", path);
      break;
    }
    if (n == 0) {
      err = SysError::Errno(EIO, "write", path, "wrote 0 bytes");
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (!err.failed()) {
    if (sync) {
      if (fdatasync(fd) != 0) err = SysError::Errno(errno, "fdatasync", path);
    } else if (len > 0 && sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) != 0 && errno != ESPIPE && errno != EINVAL) {
      err = SysError::Errno(errno, "sync_file_range", path);
    }
  }
  if (close(fd) != 0 && !err.failed()) err = SysError::Errno(errno, "close", path);
  if (err.failed()) unlink(path.c_str());
  return err;
}

}  // namespace volbackd
