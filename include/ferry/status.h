// ferry/status.h: Status and Result<T>, the error values every ferry module returns.
//
// No exception crosses a module boundary: a call that can fail returns a Status (or a
// Result<T> holding either a value or a non-OK Status). The code says what the caller
// should do about the failure (the Abseil rule):
//   kIoError            transient I/O failure; retrying the same call may succeed.
//   kResourceExhausted  the process ran out of memory or file descriptors: retrying
//                       later may succeed (the operator may raise the limit).
//   kInvalidArgument    bad input from the user (a size, a URI, a file); stop and tell.
//   kNotFound, kPermissionDenied, kFailedPrecondition, kNoSpace, kNotSupported,
//   kCorrupt            stop and tell the operator; retrying will not help.
//   kCancelled          the run was asked to stop (signal); state is consistent.
//   kUnavailable        the source cannot be reached and did not come back within its
//                       timeout: stop with the state consistent; a rerun, once it is
//                       back, resumes (a live migration keeps trying by itself).
// Messages say what was being done, with which file and values: the CLI prints them
// verbatim as the one-line error.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace ferry {

enum class StatusCode {
  kOk = 0,
  kIoError,
  kResourceExhausted,
  kInvalidArgument,
  kNotFound,
  kPermissionDenied,
  kFailedPrecondition,
  kNoSpace,
  kNotSupported,
  kCorrupt,
  kCancelled,
  kUnavailable,
  kInternal,
};

// Returns a short lower-case name for `code` ("io error", "not found", ...).
const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // True when the same call may succeed if retried (transient I/O, resources).
  bool retryable() const { return code_ == StatusCode::kIoError || code_ == StatusCode::kResourceExhausted; }

  // Returns a copy whose message is "`context`: <message>".
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }
  std::string ToString() const { return ok() ? "ok" : message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status IoError(std::string m) { return Status(StatusCode::kIoError, std::move(m)); }
inline Status InvalidArgument(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status NotFound(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
inline Status FailedPrecondition(std::string m) {
  return Status(StatusCode::kFailedPrecondition, std::move(m));
}
inline Status NotSupported(std::string m) {
  return Status(StatusCode::kNotSupported, std::move(m));
}
inline Status Corrupt(std::string m) { return Status(StatusCode::kCorrupt, std::move(m)); }
inline Status Cancelled(std::string m) { return Status(StatusCode::kCancelled, std::move(m)); }
inline Status Unavailable(std::string m) { return Status(StatusCode::kUnavailable, std::move(m)); }
inline Status Internal(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }

// Turns an errno value into a Status whose message is "`context`: strerror(err)".
// The one place that maps errno to codes (EIO/EAGAIN/ETIMEDOUT/... are retryable).
Status ErrnoStatus(int err, const std::string& context);

// Result<T>::value() on an error: a bug in the caller. Stops the process with the
// error's message in every build type (not undefined behaviour under NDEBUG).
[[noreturn]] void DieOnValueOfError(const Status& status);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    // A Result holding no value must carry an error.
    if (status_.ok()) status_ = Status(StatusCode::kInternal, "a Result was made from an OK status and no value");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & {
    if (!ok()) DieOnValueOfError(status_);
    return *value_;
  }
  const T& value() const& {
    if (!ok()) DieOnValueOfError(status_);
    return *value_;
  }
  T&& value() && {
    if (!ok()) DieOnValueOfError(status_);
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace ferry

#define FERRY_CONCAT_INNER(a, b) a##b
#define FERRY_CONCAT(a, b) FERRY_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define FERRY_RETURN_IF_ERROR(expr)              \
  do {                                           \
    ::ferry::Status ferry_status_ = (expr);      \
    if (!ferry_status_.ok()) return ferry_status_; \
  } while (0)

// `lhs = value of expr` (a Result<T>), or returns its Status from the enclosing function.
#define FERRY_ASSIGN_OR_RETURN(lhs, expr) \
  FERRY_ASSIGN_OR_RETURN_IMPL(FERRY_CONCAT(ferry_result_, __LINE__), lhs, expr)
#define FERRY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
