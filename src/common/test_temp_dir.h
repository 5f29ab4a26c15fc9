// TestTempDir: a fresh directory under /tmp for one test, removed with everything in it
// when the object goes away. For tests only.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace ferry {

class TestTempDir {
 public:
  TestTempDir() {
    char tmpl[] = "/tmp/ferry-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TestTempDir() { std::filesystem::remove_all(path_); }
  TestTempDir(const TestTempDir&) = delete;
  TestTempDir& operator=(const TestTempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace ferry
