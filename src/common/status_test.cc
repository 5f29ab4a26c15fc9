#include "ferry/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace ferry {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, TransientErrnoIsRetryable) {
  EXPECT_TRUE(ErrnoStatus(EIO, "pread").retryable());
  EXPECT_TRUE(ErrnoStatus(ETIMEDOUT, "pread").retryable());
  EXPECT_FALSE(ErrnoStatus(ENOSPC, "pwrite").retryable());
  EXPECT_EQ(ErrnoStatus(ENOSPC, "pwrite").code(), StatusCode::kNoSpace);
  EXPECT_EQ(ErrnoStatus(ENOENT, "open").code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus(EROFS, "open").code(), StatusCode::kPermissionDenied);
}

// Out of memory or descriptors is the machine's state, not the operator's input: it
// may pass, and it is not taken for a missing or refused file.
TEST(StatusTest, RunningOutOfMemoryOrDescriptorsIsRetryableResourceExhaustion) {
  for (int err : {ENOMEM, EMFILE, ENFILE}) {
    const Status s = ErrnoStatus(err, "open /var/tmp/j");
    EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << err;
    EXPECT_TRUE(s.retryable()) << err;
  }
  EXPECT_STREQ(StatusCodeName(StatusCode::kResourceExhausted), "resource exhausted");
}

TEST(StatusTest, MessageNamesTheCallAndTheError) {
  Status s = ErrnoStatus(EIO, "pread: /dev/sdb offset=4096 length=65536");
  EXPECT_EQ(s.message(), "pread: /dev/sdb offset=4096 length=65536: Input/output error");
  EXPECT_EQ(s.WithContext("source").message(), "source: pread: /dev/sdb offset=4096 length=65536: Input/output error");
}

Result<int> Half(int v) {
  if (v % 2) return InvalidArgument("odd");
  return v / 2;
}

Status UseHalf(int v, int* out) {
  FERRY_ASSIGN_OR_RETURN(*out, Half(v));
  return OkStatus();
}

TEST(StatusTest, AssignOrReturnPropagates) {
  int out = 0;
  EXPECT_TRUE(UseHalf(4, &out).ok());
  EXPECT_EQ(out, 2);
  Status s = UseHalf(3, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

// value() of an error stops the process with the error's message, in every build type.
TEST(StatusDeathTest, TheValueOfAFailedResultStopsWithItsMessage) {
  EXPECT_DEATH((void)Half(3).value(), "value of a failed result was used \\(invalid argument: odd\\)");
}

TEST(StatusTest, AResultMadeFromAnOkStatusIsAnInternalError) {
  Result<int> r{OkStatus()};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace ferry
