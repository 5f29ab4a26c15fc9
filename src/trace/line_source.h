// LineSource: reads a text file line by line, gzip-compressed or not (zlib reads plain
// files transparently), streaming, counting lines for error messages.
#pragma once

#include <zlib.h>

#include <memory>
#include <string>

#include "ferry/status.h"

namespace ferry {

// Opens a trace file for reading, gzip-compressed or not (zlib reads plain files as
// they are), with a large read buffer. The caller gzclose()s it.
Result<gzFile> OpenTraceFile(const std::string& path);

class LineSource {
 public:
  static Result<std::unique_ptr<LineSource>> Open(const std::string& path);
  ~LineSource();

  // Reads the next line (without its end of line) into `line`. Returns true, false at
  // the end, or an error for a read failure or corrupt compressed data.
  Result<bool> Next(std::string* line);
  uint64_t line_number() const { return line_number_; }
  const std::string& path() const { return path_; }

 private:
  LineSource(std::string path, gzFile f) : path_(std::move(path)), file_(f) {}
  std::string path_;
  gzFile file_;
  uint64_t line_number_ = 0;
};

}  // namespace ferry
