// ferry/trace.h: block I/O traces: the event type every trace format is read into, and
// readers that stream a trace file (gzip-compressed or not) record by record.
//
// Readers never load a whole trace: a trace larger than memory works. A malformed
// record is reported with file and line and skipped, or is fatal with `strict`.
// Formats: MSR-Cambridge, SPC/UMass, Alibaba and Tencent CSV, CloudPhysics VSCSI v1,
// blkparse text, fio iolog v2 and v3; detected from the content (OpenTrace).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ferry/io_event.h"
#include "ferry/status.h"

namespace ferry {

struct TraceReadOptions {
  bool strict = false;  // a malformed record is an error instead of a warning
  // Called for each skipped record with "FILE:LINE: what is wrong" (non-strict mode).
  std::function<void(const std::string&)> on_warning;
};

class TraceReader {
 public:
  virtual ~TraceReader() = default;
  // Reads the next event into `event`. Returns true, false at the end of the trace, or
  // an error (unreadable file, corrupt gzip, or a malformed record in strict mode).
  virtual Result<bool> Next(IoEvent* event) = 0;
  // Records skipped as malformed so far.
  virtual uint64_t skipped() const = 0;
};

// SNIA MSR-Cambridge CSV: Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime
// (Timestamp in Windows FILETIME ticks of 100 ns; Type Read or Write; Offset, Size bytes).
Result<std::unique_ptr<TraceReader>> OpenMsrTrace(const std::string& path, const TraceReadOptions& options);
// SPC / UMass: ASU,LBA,Size,Opcode,Timestamp (LBA in 512-byte sectors, Size bytes, r/w,
// seconds). Device = ASU.
Result<std::unique_ptr<TraceReader>> OpenSpcTrace(const std::string& path, const TraceReadOptions& options);
// Alibaba cloud block traces: device_id,opcode,offset,length,timestamp (R/W, bytes, us).
Result<std::unique_ptr<TraceReader>> OpenAlibabaTrace(const std::string& path, const TraceReadOptions& options);
// Tencent CBS: Timestamp,Offset,Size,IOType,VolumeID (seconds; sectors of 512 bytes;
// 0 read, 1 write). Device = VolumeID.
Result<std::unique_ptr<TraceReader>> OpenTencentTrace(const std::string& path, const TraceReadOptions& options);

// CloudPhysics VSCSI v1 binary trace (32-byte little-endian records; lbn in 512-byte
// sectors, time in microseconds). A v2 file is refused at its first record.
Result<std::unique_ptr<TraceReader>> OpenVscsiTrace(const std::string& path, const TraceReadOptions& options);

// blkparse default text output; a request is its Q (queued) event, other lines and
// actions are passed over. Sector = 512 bytes; device = (major << 20) | minor.
Result<std::unique_ptr<TraceReader>> OpenBlkparseTrace(const std::string& path, const TraceReadOptions& options);

// fio iolog v2 or v3 (fio(1), TRACE FILE FORMAT): reads and writes become events; v3
// timestamps are microseconds; v2 time comes from `wait` actions. Device = the file's
// index in order of appearance. A file without the version line is refused.
Result<std::unique_ptr<TraceReader>> OpenFioIologTrace(const std::string& path, const TraceReadOptions& options);

enum class TraceFormat { kAuto, kMsr, kSpc, kAlibaba, kTencent, kBlkparse, kVscsi, kFioIolog };
// "auto", "msr", "spc", "alibaba", "tencent", "blkparse", "vscsi", "fio".
const char* TraceFormatName(TraceFormat format);
Result<TraceFormat> ParseTraceFormat(const std::string& name);
// The format of a trace from its first bytes (gzip or not); kInvalidArgument naming
// the file and suggesting --format when it cannot tell.
Result<TraceFormat> DetectTraceFormat(const std::string& path);
// Opens a trace in `format`, detecting it first for kAuto.
Result<std::unique_ptr<TraceReader>> OpenTrace(const std::string& path, TraceFormat format,
                                               const TraceReadOptions& options);

}  // namespace ferry
