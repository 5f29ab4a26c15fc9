// Volume defaults, spec parsing and the factory that picks a backend for a spec.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "ferry/volume.h"
#include "volume/backends.h"

namespace ferry {

namespace {
constexpr uint64_t kZeroBufferSize = 1 << 20;  // bytes written per call by the Zero fallback
}

void Volume::ReadAsync(uint64_t offset, std::span<std::byte> buf, IoDone done) {
  done(Read(offset, buf));
}

void Volume::WriteAsync(uint64_t offset, std::span<const std::byte> buf, IoDone done) {
  done(Write(offset, buf));
}

Status Volume::Zero(uint64_t offset, uint64_t length) {
  static const std::vector<std::byte> zeroes(kZeroBufferSize);
  while (length > 0) {
    uint64_t n = std::min<uint64_t>(length, zeroes.size());
    FERRY_RETURN_IF_ERROR(Write(offset, std::span<const std::byte>(zeroes.data(), n)));
    offset += n;
    length -= n;
  }
  return OkStatus();
}

Status Volume::Trim(uint64_t offset, uint64_t length) {
  return NotSupported("trim " + name() + " offset=" + std::to_string(offset) +
                      " length=" + std::to_string(length) + ": the volume does not support discard");
}

Status Volume::Extents(uint64_t offset, uint64_t length, std::vector<Extent>* out) {
  out->push_back({offset, length, false});
  return OkStatus();
}

bool IsNbdUri(const std::string& spec) {
  return spec.rfind("nbd://", 0) == 0 || spec.rfind("nbds://", 0) == 0 ||
         spec.rfind("nbd+", 0) == 0 || spec.rfind("nbds+", 0) == 0;
}

std::string VolumeIdentity(const std::string& spec) {
  if (IsNbdUri(spec)) return spec;
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(spec, ec), ec);
  return ec ? spec : p.string();
}

Result<std::unique_ptr<Volume>> OpenVolume(const std::string& spec, const OpenOptions& options) {
  if (spec.empty()) return InvalidArgument("empty volume name: give a path or an NBD URI");
  if (IsNbdUri(spec)) return OpenNbdVolume(spec, options);
  if (spec.find("://") != std::string::npos) {
    return InvalidArgument("unsupported URI '" + spec +
                           "': use a path, or an NBD URI (nbd://, nbds://, nbd+unix://)");
  }
  return OpenFileVolume(spec, options);
}

}  // namespace ferry
