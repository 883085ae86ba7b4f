#include "device.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "buffer_pool.h"

namespace volbackd {

namespace {

// statx through the raw syscall, so the kernel's struct (with the dio fields) is
// used whatever glibc's wrapper knows.
bool DioAlign(int fd, uint32_t* offset_align, uint32_t* mem_align) {
  struct statx stx;
  memset(&stx, 0, sizeof(stx));
  if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) != 0) return false;
  if (!(stx.stx_mask & STATX_DIOALIGN) || stx.stx_dio_offset_align == 0) return false;
  *offset_align = stx.stx_dio_offset_align;
  *mem_align = stx.stx_dio_mem_align;
  return true;
}

ssize_t PreadFull(int fd, uint8_t* buf, size_t len, uint64_t off) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, buf + done, len - done, static_cast<off_t>(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;  // end of file
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

bool PwriteFull(int fd, const uint8_t* buf, size_t len, uint64_t off) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pwrite(fd, buf + done, len - done, static_cast<off_t>(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = EIO;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

SysError Device::Open(const std::string& path, const OpenOptions& opts, std::unique_ptr<Device>* out) {
  std::unique_ptr<Device> dev(new Device());
  dev->info_.path = path;
  dev->info_.writable = opts.write;

  int base = (opts.write ? O_RDWR : O_RDONLY) | O_CLOEXEC;
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return SysError::Errno(errno, "stat", path);
  if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)) {
    return SysError::Errno(EINVAL, "open", path, "not a block device or a regular file");
  }
  // Writing to a block device claims it exclusively: a mounted file system or
  // another exclusive user makes open fail with EBUSY instead of being corrupted.
  if (opts.write && S_ISBLK(st.st_mode)) base |= O_EXCL;

  bool direct = opts.direct;
  int fd = open(path.c_str(), base | (direct ? O_DIRECT : 0));
  if (fd < 0 && direct && errno == EINVAL) {
    if (!opts.allow_buffered) {
      return SysError::Errno(EINVAL, "open", path, "the file system does not support O_DIRECT");
    }
    direct = false;
    fd = open(path.c_str(), base);
  }
  if (fd < 0) {
    return SysError::Errno(errno, "open", path,
                           errno == EBUSY ? "the device is in use (mounted or claimed exclusively)" : "");
  }
  dev->fd_ = fd;
  dev->info_.direct = direct;

  if (fstat(fd, &st) != 0) return SysError::Errno(errno, "fstat", path);
  dev->info_.is_block = S_ISBLK(st.st_mode);
  if (dev->info_.is_block) {
    uint64_t size = 0;
    if (ioctl(fd, BLKGETSIZE64, &size) != 0) return SysError::Errno(errno, "ioctl(BLKGETSIZE64)", path);
    int lbs = 512;
    if (ioctl(fd, BLKSSZGET, &lbs) != 0) return SysError::Errno(errno, "ioctl(BLKSSZGET)", path);
    dev->info_.size = size;
    dev->info_.logical_block = static_cast<uint32_t>(lbs);
    dev->info_.offset_align = dev->info_.mem_align = static_cast<uint32_t>(lbs);
  } else {
    dev->info_.size = static_cast<uint64_t>(st.st_size);
    // Unknown file systems get the largest alignment in common use, which is
    // always accepted where a smaller one is.
    dev->info_.offset_align = dev->info_.mem_align = 4096;
    dev->info_.logical_block = 4096;
  }
  uint32_t oa = 0, ma = 0;
  if (DioAlign(fd, &oa, &ma)) {
    dev->info_.offset_align = oa;
    dev->info_.mem_align = ma;
    if (!dev->info_.is_block) dev->info_.logical_block = oa;
  }
  if (direct && (dev->info_.mem_align > BufferPool::kAlignment ||
                 dev->info_.offset_align > BufferPool::kAlignment)) {
    return SysError::Errno(EINVAL, "statx", path,
                           "direct I/O alignment " + std::to_string(dev->info_.offset_align) +
                               " is larger than the supported " + std::to_string(BufferPool::kAlignment));
  }
  if (opts.write && !dev->info_.is_block && direct) {
    int tfd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (tfd < 0) return SysError::Errno(errno, "open", path);
    dev->tail_fd_ = tfd;
  }
  *out = std::move(dev);
  return SysError();
}

Device::~Device() { Close(); }

uint64_t Device::AlignUp(uint64_t n) const {
  if (!info_.direct) return n;
  uint64_t a = info_.offset_align;
  return (n + a - 1) / a * a;
}

SysError Device::ReadAt(uint64_t offset, size_t length, uint8_t* buf) const {
  if (fd_ < 0) return SysError::Errno(EBADF, "pread", info_.path, "the device is closed");
  if (info_.direct && offset % info_.offset_align != 0) {
    return SysError::Errno(EINVAL, "pread", info_.path,
                           "offset " + std::to_string(offset) + " is not aligned to " +
                               std::to_string(info_.offset_align));
  }
  size_t want = static_cast<size_t>(AlignUp(length));
  ssize_t n = PreadFull(fd_, buf, want, offset);
  if (n < 0) return SysError::Errno(errno, "pread", info_.path, "at offset " + std::to_string(offset));
  if (static_cast<size_t>(n) < length) {
    return SysError::Custom("ERR_SHORT_READ",
                            "read " + std::to_string(n) + " of " + std::to_string(length) +
                                " bytes at offset " + std::to_string(offset) + " (did the volume shrink?)",
                            info_.path);
  }
  return SysError();
}

SysError Device::WriteTailRmw(uint64_t offset, const uint8_t* src, size_t length) const {
  // A block device only takes whole logical blocks: read the block holding the
  // tail, lay the tail over its start, write the block back.
  const size_t a = info_.offset_align;
  void* p = nullptr;
  if (posix_memalign(&p, BufferPool::kAlignment, a) != 0) return SysError::Errno(ENOMEM, "posix_memalign", info_.path);
  std::unique_ptr<uint8_t, decltype(&free)> block(static_cast<uint8_t*>(p), &free);
  ssize_t n = PreadFull(fd_, block.get(), a, offset);
  if (n < 0) return SysError::Errno(errno, "pread", info_.path, "at offset " + std::to_string(offset));
  if (static_cast<size_t>(n) < a) memset(block.get() + n, 0, a - static_cast<size_t>(n));
  memcpy(block.get(), src, length);
  if (!PwriteFull(fd_, block.get(), a, offset)) {
    return SysError::Errno(errno, "pwrite", info_.path, "at offset " + std::to_string(offset));
  }
  return SysError();
}

SysError Device::WriteAt(uint64_t offset, const uint8_t* buf, size_t length) const {
  if (fd_ < 0) return SysError::Errno(EBADF, "pwrite", info_.path, "the device is closed");
  if (!info_.writable) return SysError::Errno(EBADF, "pwrite", info_.path, "the device is open read-only");
  if (info_.is_block && offset + length > info_.size) {
    return SysError::Errno(ENOSPC, "pwrite", info_.path,
                           "writing " + std::to_string(length) + " bytes at " + std::to_string(offset) +
                               " passes the end of the device (" + std::to_string(info_.size) + " bytes)");
  }
  if (!info_.direct) {
    if (!PwriteFull(fd_, buf, length, offset)) {
      return SysError::Errno(errno, "pwrite", info_.path, "at offset " + std::to_string(offset));
    }
    return SysError();
  }
  if (offset % info_.offset_align != 0) {
    return SysError::Errno(EINVAL, "pwrite", info_.path,
                           "offset " + std::to_string(offset) + " is not aligned to " +
                               std::to_string(info_.offset_align));
  }
  const size_t aligned = length / info_.offset_align * info_.offset_align;
  if (aligned > 0 && !PwriteFull(fd_, buf, aligned, offset)) {
    return SysError::Errno(errno, "pwrite", info_.path, "at offset " + std::to_string(offset));
  }
  const size_t tail = length - aligned;
  if (tail == 0) return SysError();
  if (tail_fd_ >= 0) {
    if (!PwriteFull(tail_fd_, buf + aligned, tail, offset + aligned)) {
      return SysError::Errno(errno, "pwrite", info_.path, "at offset " + std::to_string(offset + aligned));
    }
    return SysError();
  }
  return WriteTailRmw(offset + aligned, buf + aligned, tail);
}

SysError Device::WriteZeros(uint64_t offset, uint64_t length) const {
  const size_t kStep = 1u << 20;
  PooledBuffer zeros = BufferPool::Instance().Acquire(kStep);
  if (!zeros) return SysError::Errno(ENOMEM, "posix_memalign", info_.path);
  memset(zeros.data(), 0, kStep);
  for (uint64_t done = 0; done < length;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kStep, length - done));
    SysError e = WriteAt(offset + done, zeros.data(), n);
    if (e.failed()) return e;
    done += n;
  }
  return SysError();
}

SysError Device::ZeroRange(uint64_t offset, uint64_t length, std::string* method) const {
  if (fd_ < 0) return SysError::Errno(EBADF, "fallocate", info_.path, "the device is closed");
  if (length == 0) {
    *method = "none";
    return SysError();
  }
  if (info_.is_block) {
    const uint64_t a = info_.logical_block;
    if (offset % a == 0 && length % a == 0) {
      uint64_t range[2] = {offset, length};
      if (ioctl(fd_, BLKZEROOUT, range) == 0) {
        *method = "blkzeroout";
        return SysError();
      }
      if (errno != EOPNOTSUPP && errno != EINVAL && errno != ENOTTY) {
        return SysError::Errno(errno, "ioctl(BLKZEROOUT)", info_.path);
      }
    }
  } else {
    if (fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                  static_cast<off_t>(length)) == 0) {
      *method = "punch-hole";
      return SysError();
    }
    if (errno != EOPNOTSUPP && errno != ENOSYS) return SysError::Errno(errno, "fallocate", info_.path);
  }
  *method = "write";
  return WriteZeros(offset, length);
}

SysError Device::Sync() const {
  if (fd_ < 0) return SysError::Errno(EBADF, "fdatasync", info_.path, "the device is closed");
  if (tail_fd_ >= 0 && fdatasync(tail_fd_) != 0) return SysError::Errno(errno, "fdatasync", info_.path);
  if (fdatasync(fd_) != 0) return SysError::Errno(errno, "fdatasync", info_.path);
  return SysError();
}

SysError Device::Close() {
  SysError err;
  if (tail_fd_ >= 0) {
    if (close(tail_fd_) != 0) err = SysError::Errno(errno, "close", info_.path);
    tail_fd_ = -1;
  }
  if (fd_ >= 0) {
    if (close(fd_) != 0 && !err.failed()) err = SysError::Errno(errno, "close", info_.path);
    fd_ = -1;
  }
  return err;
}

SysError SyncFs(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return SysError::Errno(errno, "open", path);
  SysError err;
  if (syncfs(fd) != 0) err = SysError::Errno(errno, "syncfs", path);
  close(fd);
  return err;
}

SysError DataRanges(const std::string& path, uint64_t start, uint64_t end,
                    std::vector<std::pair<uint64_t, uint64_t>>* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return SysError::Errno(errno, "open", path);
  SysError err;
  uint64_t pos = start;
  while (pos < end) {
    off_t data = lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // no data after pos
      if (errno == EINVAL || errno == EOPNOTSUPP) {  // no hole support: all data
        out->emplace_back(pos, end);
        break;
      }
      err = SysError::Errno(errno, "lseek(SEEK_DATA)", path);
      break;
    }
    if (static_cast<uint64_t>(data) >= end) break;
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0) {
      err = SysError::Errno(errno, "lseek(SEEK_HOLE)", path);
      break;
    }
    uint64_t stop = std::min<uint64_t>(static_cast<uint64_t>(hole), end);
    out->emplace_back(static_cast<uint64_t>(data), stop);
    pos = stop;
  }
  close(fd);
  return err;
}

}  // namespace volbackd
