#include "trace/line_source.h"

#include <cerrno>
#include <memory>

namespace ferry {

Result<gzFile> OpenTraceFile(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return ErrnoStatus(errno ? errno : ENOMEM, "cannot open trace " + path);
  gzbuffer(f, 1 << 20);
  return f;
}

Result<std::unique_ptr<LineSource>> LineSource::Open(const std::string& path) {
  FERRY_ASSIGN_OR_RETURN(gzFile f, OpenTraceFile(path));
  return std::unique_ptr<LineSource>(new LineSource(path, f));
}

LineSource::~LineSource() { gzclose(file_); }

Result<bool> LineSource::Next(std::string* line) {
  line->clear();
  char buf[4096];
  for (;;) {
    if (!gzgets(file_, buf, sizeof buf)) {
      int err;
      const char* msg = gzerror(file_, &err);
      if (err != Z_OK) {  // Z_BUF_ERROR: the compressed stream ends early
        return Corrupt("reading trace " + path_ + " near line " + std::to_string(line_number_ + 1) + ": " + msg +
                       " (is the gzip file truncated or damaged?)");
      }
      if (line->empty()) return false;  // end of file
      break;                            // last line without a newline
    }
    line->append(buf);
    if (!line->empty() && line->back() == '\n') {
      line->pop_back();
      break;
    }
  }
  if (!line->empty() && line->back() == '\r') line->pop_back();
  ++line_number_;
  return true;
}

}  // namespace ferry
