// Trace format detection from the first bytes (decompressed when gzip) and OpenTrace.
// Rules, in order:
//   "fio version N iolog" first line          -> fio iolog
//   a NUL byte in the first 32 bytes and a
//   VSCSI v1 header (version byte 1)          -> CloudPhysics VSCSI
//   "maj,min cpu seq time pid action ..."     -> blkparse
//   7 comma fields, 4th Read/Write            -> MSR-Cambridge
//   5 comma fields: 4th r/w/R/W               -> SPC/UMass
//                   2nd R/W                   -> Alibaba
//                   4th 0/1                   -> Tencent CBS
#include <zlib.h>

#include <cctype>
#include <regex>
#include <string>
#include <vector>

#include "ferry/trace.h"
#include "trace/line_source.h"

namespace ferry {
namespace {

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> f;
  size_t start = 0;
  for (;;) {
    size_t comma = line.find(',', start);
    f.push_back(line.substr(start, comma - start));
    if (comma == std::string::npos) return f;
    start = comma + 1;
  }
}

Result<TraceFormat> Detect(const std::string& path) {
  FERRY_ASSIGN_OR_RETURN(gzFile f, OpenTraceFile(path));
  char buf[512];
  int n = gzread(f, buf, sizeof buf);
  gzclose(f);
  if (n < 0) return Corrupt("reading trace " + path + ": not readable as plain or gzip data");
  if (n == 0) return InvalidArgument("trace " + path + " is empty");
  std::string head(buf, static_cast<size_t>(n));
  if (head.rfind("fio version ", 0) == 0) return TraceFormat::kFioIolog;
  if (head.find('\0') < 32 || n < 32) {
    if (n >= 32 && static_cast<unsigned char>(head[15]) == 1) return TraceFormat::kVscsi;
    if (head.find('\0') != std::string::npos) {
      return InvalidArgument("trace " + path + ": binary data that is not a VSCSI v1 trace; give --format");
    }
  }
  std::string line = head.substr(0, head.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  static const std::regex kBlkparse(R"(^\s*\d+,\d+\s+\d+\s+\d+\s+\d+\.\d+\s+\d+\s+[A-Za-z]+.*)");
  if (std::regex_match(line, kBlkparse)) return TraceFormat::kBlkparse;
  auto f5 = SplitCsv(line);
  auto is = [](const std::string& s, std::initializer_list<const char*> any) {
    for (const char* a : any) {
      if (s == a) return true;
    }
    return false;
  };
  if (f5.size() == 7 && is(f5[3], {"Read", "Write"})) return TraceFormat::kMsr;
  if (f5.size() == 5) {
    if (is(f5[3], {"r", "w", "R", "W"})) return TraceFormat::kSpc;
    if (is(f5[1], {"R", "W", "r", "w"})) return TraceFormat::kAlibaba;
    if (is(f5[3], {"0", "1"})) return TraceFormat::kTencent;
  }
  return InvalidArgument("cannot tell the format of trace " + path +
                         " from its first line; give --format (msr, spc, alibaba, tencent, blkparse, vscsi, fio)");
}

}  // namespace

const char* TraceFormatName(TraceFormat f) {
  switch (f) {
    case TraceFormat::kAuto: return "auto";
    case TraceFormat::kMsr: return "msr";
    case TraceFormat::kSpc: return "spc";
    case TraceFormat::kAlibaba: return "alibaba";
    case TraceFormat::kTencent: return "tencent";
    case TraceFormat::kBlkparse: return "blkparse";
    case TraceFormat::kVscsi: return "vscsi";
    case TraceFormat::kFioIolog: return "fio";
  }
  return "unknown";
}

Result<TraceFormat> ParseTraceFormat(const std::string& name) {
  for (auto f : {TraceFormat::kAuto, TraceFormat::kMsr, TraceFormat::kSpc, TraceFormat::kAlibaba,
                 TraceFormat::kTencent, TraceFormat::kBlkparse, TraceFormat::kVscsi, TraceFormat::kFioIolog}) {
    if (name == TraceFormatName(f)) return f;
  }
  return InvalidArgument("unknown trace format '" + name +
                         "': use auto, msr, spc, alibaba, tencent, blkparse, vscsi or fio");
}

Result<TraceFormat> DetectTraceFormat(const std::string& path) { return Detect(path); }

Result<std::unique_ptr<TraceReader>> OpenTrace(const std::string& path, TraceFormat format,
                                               const TraceReadOptions& options) {
  if (format == TraceFormat::kAuto) {
    FERRY_ASSIGN_OR_RETURN(format, Detect(path));
  }
  switch (format) {
    case TraceFormat::kMsr: return OpenMsrTrace(path, options);
    case TraceFormat::kSpc: return OpenSpcTrace(path, options);
    case TraceFormat::kAlibaba: return OpenAlibabaTrace(path, options);
    case TraceFormat::kTencent: return OpenTencentTrace(path, options);
    case TraceFormat::kBlkparse: return OpenBlkparseTrace(path, options);
    case TraceFormat::kVscsi: return OpenVscsiTrace(path, options);
    case TraceFormat::kFioIolog: return OpenFioIologTrace(path, options);
    case TraceFormat::kAuto: break;
  }
  return Internal("unreachable trace format");
}

}  // namespace ferry
