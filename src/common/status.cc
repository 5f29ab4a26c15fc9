// Status helpers: code names and the one errno -> Status mapping.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "ferry/status.h"

namespace ferry {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kIoError: return "io error";
    case StatusCode::kResourceExhausted: return "resource exhausted";
    case StatusCode::kInvalidArgument: return "invalid argument";
    case StatusCode::kNotFound: return "not found";
    case StatusCode::kPermissionDenied: return "permission denied";
    case StatusCode::kFailedPrecondition: return "failed precondition";
    case StatusCode::kNoSpace: return "no space";
    case StatusCode::kNotSupported: return "not supported";
    case StatusCode::kCorrupt: return "corrupt";
    case StatusCode::kCancelled: return "cancelled";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kInternal: return "internal";
  }
  return "unknown";
}

void DieOnValueOfError(const Status& status) {
  std::fprintf(stderr, "ferry: internal error: the value of a failed result was used (%s: %s)\n",
               StatusCodeName(status.code()), status.message().c_str());
  std::abort();
}

Status ErrnoStatus(int err, const std::string& context) {
  StatusCode code;
  switch (err) {
    case 0: return OkStatus();
    // Transient: the device or the connection may come back.
    case EIO: case EAGAIN: case ETIMEDOUT: case ECONNRESET: case ECONNABORTED:
    case EPIPE: case EBUSY: case ENOTCONN: case ESHUTDOWN: case EINTR:
      code = StatusCode::kIoError;
      break;
    case ENOENT: case ENXIO: case ENODEV: case ECONNREFUSED:
      code = StatusCode::kNotFound;
      break;
    case EACCES: case EPERM: case EROFS:
      code = StatusCode::kPermissionDenied;
      break;
    case ENOMEM: case EMFILE: case ENFILE: case ENOBUFS:
      code = StatusCode::kResourceExhausted;
      break;
    case ENOSPC: case EDQUOT: case EFBIG:
      code = StatusCode::kNoSpace;
      break;
    case EOPNOTSUPP: case ENOSYS: case ENOTTY:
      code = StatusCode::kNotSupported;
      break;
    case EINVAL: case EISDIR: case ENOTDIR:
      code = StatusCode::kInvalidArgument;
      break;
    default:
      code = StatusCode::kFailedPrecondition;
  }
  return Status(code, context + ": " + std::strerror(err));
}

}  // namespace ferry
