// MemoryVolume: a zero-filled byte array; for tests and the simulator.
#include <cstring>
#include <mutex>
#include <vector>

#include "ferry/volume.h"

namespace ferry {
namespace {

class MemoryVolume final : public Volume {
 public:
  MemoryVolume(std::string name, uint64_t size) : name_(std::move(name)), data_(size) {}

  const std::string& name() const override { return name_; }
  uint64_t size() const override { return data_.size(); }
  VolumeCapabilities capabilities() const override {
    VolumeCapabilities c;
    c.writable = true;
    c.can_flush = true;
    c.can_zero = true;
    return c;
  }

  Status Read(uint64_t offset, std::span<std::byte> buf) override {
    FERRY_RETURN_IF_ERROR(Check("read", offset, buf.size()));
    std::lock_guard<std::mutex> lock(mu_);
    std::memcpy(buf.data(), data_.data() + offset, buf.size());
    return OkStatus();
  }
  Status Write(uint64_t offset, std::span<const std::byte> buf) override {
    FERRY_RETURN_IF_ERROR(Check("write", offset, buf.size()));
    std::lock_guard<std::mutex> lock(mu_);
    std::memcpy(data_.data() + offset, buf.data(), buf.size());
    return OkStatus();
  }
  Status Flush() override { return OkStatus(); }
  Status Zero(uint64_t offset, uint64_t length) override {
    FERRY_RETURN_IF_ERROR(Check("zero", offset, length));
    std::lock_guard<std::mutex> lock(mu_);
    std::memset(data_.data() + offset, 0, length);
    return OkStatus();
  }

 private:
  Status Check(const char* call, uint64_t offset, uint64_t length) const {
    if (offset > data_.size() || length > data_.size() - offset) {
      return InvalidArgument(std::string(call) + ": " + name_ + " offset=" + std::to_string(offset) +
                             " length=" + std::to_string(length) + ": beyond the end of the volume (" +
                             std::to_string(data_.size()) + " bytes)");
    }
    return OkStatus();
  }

  const std::string name_;
  std::mutex mu_;
  std::vector<std::byte> data_;
};

}  // namespace

std::unique_ptr<Volume> NewMemoryVolume(std::string name, uint64_t size) {
  return std::make_unique<MemoryVolume>(std::move(name), size);
}

}  // namespace ferry
