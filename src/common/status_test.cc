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

}  // namespace
}  // namespace ferry
