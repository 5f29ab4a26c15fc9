// ByteBuffer: a growable byte buffer whose new bytes are left uninitialised, for data
// that a read is about to overwrite (a 1 MiB copy buffer zero-filled by
// std::vector::resize cost 8% of an NBD-to-file copy's CPU, docs/benchmarks.md).
#pragma once

#include <cstddef>
#include <memory>
#include <span>

namespace ferry {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  // Makes the buffer `n` bytes long. Bytes beyond the old size are uninitialised; the
  // old ones are kept only when no reallocation is needed (callers overwrite them).
  void Resize(size_t n) {
    if (n > capacity_) {
      data_ = std::make_unique_for_overwrite<std::byte[]>(n);
      capacity_ = n;
    }
    size_ = n;
  }
  size_t size() const { return size_; }
  std::byte* data() { return data_.get(); }
  const std::byte* data() const { return data_.get(); }
  std::span<std::byte> span() { return {data_.get(), size_}; }
  std::span<const std::byte> span() const { return {data_.get(), size_}; }
  operator std::span<std::byte>() { return span(); }
  operator std::span<const std::byte>() const { return span(); }

 private:
  std::unique_ptr<std::byte[]> data_;
  size_t capacity_ = 0;
  size_t size_ = 0;
};

}  // namespace ferry
