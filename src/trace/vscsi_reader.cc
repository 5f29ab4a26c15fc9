// CloudPhysics VSCSI v1 reader: 32-byte little-endian records
//   {u32 serial; u32 length_bytes; u32 n_sg; u16 scsi_cmd; u16 version; u64 lbn; u64 ts_us}
// lbn in 512-byte sectors. The version sits in the high byte of its field: the published
// sample (SHARDS, FAST'15, via libCacheSim) has 0x0100 in every record. v2 files use
// another layout and are refused. SCSI commands other than READ/WRITE(6/10/12/16) are
// not I/O and are passed over without a warning.
#include <zlib.h>

#include <cstring>

#include "ferry/trace.h"
#include "trace/line_source.h"

namespace ferry {
namespace {

constexpr size_t kRecord = 32;

bool IsRead(uint16_t cmd) { return cmd == 0x08 || cmd == 0x28 || cmd == 0xa8 || cmd == 0x88; }
bool IsWrite(uint16_t cmd) { return cmd == 0x0a || cmd == 0x2a || cmd == 0xaa || cmd == 0x8a; }

template <typename T>
T Load(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // the format and every supported host are little-endian
  return v;
}

class VscsiReader final : public TraceReader {
 public:
  VscsiReader(std::string path, gzFile f, TraceReadOptions o) : path_(std::move(path)), f_(f), o_(std::move(o)) {}
  ~VscsiReader() override { gzclose(f_); }

  Result<bool> Next(IoEvent* e) override {
    unsigned char r[kRecord];
    for (;;) {
      int n = gzread(f_, r, kRecord);
      if (n < 0 || (n == 0 && !gzeof(f_))) {
        int err;
        return Corrupt("reading trace " + path_ + " at record " + std::to_string(index_) + ": " + gzerror(f_, &err));
      }
      if (n == 0) return false;
      if (static_cast<size_t>(n) < kRecord) {
        int err;
        gzerror(f_, &err);
        if (err != Z_OK) return Corrupt("reading trace " + path_ + ": the compressed stream ends early");
        FERRY_RETURN_IF_ERROR(Malformed("a partial record of " + std::to_string(n) + " bytes at the end"));
        return false;
      }
      ++index_;
      uint16_t cmd = Load<uint16_t>(r + 12), version = Load<uint16_t>(r + 14) >> 8;
      if (version != 1) {
        if (index_ == 1) {
          return InvalidArgument(path_ + ": VSCSI version " + std::to_string(version) +
                                 " is not supported (only v1); convert the trace or give --format");
        }
        FERRY_RETURN_IF_ERROR(Malformed("version " + std::to_string(version) + ", expected 1"));
        continue;
      }
      if (!IsRead(cmd) && !IsWrite(cmd)) continue;  // not an I/O command
      uint32_t length = Load<uint32_t>(r + 4);
      uint64_t lbn = Load<uint64_t>(r + 16), ts_us = Load<uint64_t>(r + 24);
      if (length == 0) {
        FERRY_RETURN_IF_ERROR(Malformed("zero length"));
        continue;
      }
      if (lbn > (UINT64_MAX - length) / 512) {
        FERRY_RETURN_IF_ERROR(Malformed("sector " + std::to_string(lbn) + " is beyond any volume"));
        continue;
      }
      if (!have_first_) {
        first_us_ = ts_us;
        have_first_ = true;
      }
      uint64_t us = ts_us >= first_us_ ? ts_us - first_us_ : 0;
      if (us > static_cast<uint64_t>(INT64_MAX / 1000)) {
        FERRY_RETURN_IF_ERROR(Malformed("timestamp too far from the first record"));
        continue;
      }
      e->time = std::chrono::microseconds(static_cast<int64_t>(us));
      e->offset = lbn * 512;
      e->length = length;
      e->op = IsRead(cmd) ? IoOp::kRead : IoOp::kWrite;
      e->device = 0;
      return true;
    }
  }
  uint64_t skipped() const override { return skipped_; }

 private:
  // A malformed record: an error in strict mode, else a warning and a skip.
  Status Malformed(const std::string& why) {
    std::string msg = path_ + ": record " + std::to_string(index_) + ": " + why;
    if (o_.strict) return InvalidArgument("malformed VSCSI record: " + msg);
    ++skipped_;
    if (o_.on_warning) o_.on_warning(msg);
    return OkStatus();
  }

  std::string path_;
  gzFile f_;
  TraceReadOptions o_;
  uint64_t index_ = 0;  // records read, 1-based index of the current one
  uint64_t skipped_ = 0;
  bool have_first_ = false;
  uint64_t first_us_ = 0;
};

}  // namespace

Result<std::unique_ptr<TraceReader>> OpenVscsiTrace(const std::string& path, const TraceReadOptions& options) {
  FERRY_ASSIGN_OR_RETURN(gzFile f, OpenTraceFile(path));
  return std::unique_ptr<TraceReader>(new VscsiReader(path, f, options));
}

}  // namespace ferry
